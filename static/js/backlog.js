// The backlog and planning lists: drag and drop (SortableJS), Top/Up/Down/Bottom buttons, undo of the last move.
// Every move is saved at once (POST to the page's move URL, which answers JSON with the placement that
// undoes it). Without this script the buttons are plain forms and the page still works.
(() => {
  "use strict";
  const root = document.querySelector("[data-backlog]");
  if (!root) return;
  document.body.dataset.setup = "backlog"; // body[data-ready] waits for the end of this setup (app.js)
  const moveUrl = root.dataset.moveUrl;
  const status = document.getElementById("backlog-status");
  let lastMove = null; // {row, undo, fromList, fromNext}

  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch { return ""; }
  };
  const rowsOf = (list) => [...list.querySelectorAll(":scope > .backlog-row")];
  const listOf = (row) => row.closest("[data-list]");
  const moreOf = (list) => list.querySelector(":scope > .backlog-more");

  function say(message, { undo = false, error = false } = {}) {
    if (!status) return;
    status.replaceChildren();
    const p = document.createElement("p");
    p.className = "status-message" + (error ? " is-error" : "");
    p.textContent = message;
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.dataset.undo = "";
      button.textContent = "Undo";
      p.append(" ", button);
    }
    status.append(p);
  }

  async function post(fields) {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== null) body.append(name, value);
    const response = await fetch(moveUrl, {
      method: "POST", credentials: "same-origin", body,
      headers: { Accept: "application/json", "X-CSRFToken": csrf() },
    });
    let data;
    try { data = await response.json(); } catch { data = { error: "The move could not be saved; reload the page." }; }
    if (!response.ok) throw new Error((data.errors && data.errors[0] && data.errors[0].message) || "The move could not be saved; reload the page.");
    return data;
  }

  // Where a row sits now: above the row after it, else below the row before it, else alone in its list.
  function placementOf(row) {
    const rows = rowsOf(listOf(row));
    const index = rows.indexOf(row);
    if (rows[index + 1]) return { before: rows[index + 1].dataset.key };
    if (rows[index - 1]) return { after: rows[index - 1].dataset.key };
    return { position: "top" };
  }

  function putBack(row, list, next) {
    if (next && next.parentNode === list) list.insertBefore(row, next);
    else list.insertBefore(row, moreOf(list));
  }

  function points(row) { return parseFloat(row.dataset.points || "0") || 0; }

  function retotal(list, delta) {
    const holder = list.closest("[data-points-total]");
    if (!holder || !delta) return;
    const total = Math.round((parseFloat(holder.dataset.pointsTotal) + delta) * 10) / 10;
    holder.dataset.pointsTotal = total;
    holder.querySelectorAll("[data-points-shown]").forEach((el) => { el.textContent = total; });
    const velocity = parseFloat(root.dataset.velocity);
    const warning = holder.querySelector("[data-over-velocity]");
    if (warning && !Number.isNaN(velocity)) warning.hidden = total <= velocity;
  }

  // The "→ Sprint" / "← Backlog" button of a row follows it into its new list.
  function flipAcross(row) {
    const form = row.querySelector(".across-form");
    if (!form) return;
    const list = listOf(row);
    const inBacklog = list.dataset.list === "backlog";
    const sprintList = [...root.querySelectorAll("[data-list]")].find((candidate) => candidate.dataset.list !== "backlog");
    if (!sprintList) return;
    form.querySelector("[name=sprint]").value = inBacklog ? sprintList.dataset.list : "backlog";
    form.querySelector("[name=position]").value = inBacklog ? "bottom" : "top";
    const button = form.querySelector("[data-move=across]");
    button.textContent = inBacklog ? "→ Sprint" : "← Backlog";
    button.setAttribute("aria-label", inBacklog ? `Move ${row.dataset.key} into the sprint` : `Move ${row.dataset.key} back to the top of the backlog`);
  }

  function moved(row, fromList, toList = listOf(row)) {
    if (toList !== fromList) { retotal(fromList, -points(row)); retotal(toList, points(row)); flipAcross(row); }
  }

  // toList: the list the row went to; a row sent below stories not loaded yet has left the page (no list of its own).
  async function persist(row, placement, fromList, fromNext, toList = listOf(row) || fromList) {
    const fields = { story: row.dataset.key, version: row.dataset.version, ...placement };
    if (toList !== fromList) fields.sprint = toList.dataset.list;
    moved(row, fromList, toList);
    lastMove = null; // the status line and its Undo speak of this move from now on
    say(`Moving ${row.dataset.key}…`);
    try {
      const data = await post(fields);
      row.dataset.version = data.version;
      row.querySelectorAll("input[name=version]").forEach((input) => { input.value = data.version; });
      lastMove = { row, undo: data.undo, fromList, fromNext, toList };
      say(data.message, { undo: true });
    } catch (error) {
      putBack(row, fromList, fromNext);
      moved(row, toList, fromList);
      say(error.message, { error: true });
    }
  }

  async function undo() {
    if (!lastMove) return;
    const { row, undo: placement, fromList, fromNext, toList } = lastMove;
    lastMove = null;
    try {
      const data = await post({ story: row.dataset.key, version: row.dataset.version, ...placement });
      row.dataset.version = data.version;
      row.querySelectorAll("input[name=version]").forEach((input) => { input.value = data.version; });
      putBack(row, fromList, fromNext);
      moved(row, toList, fromList);
      say(`Undone: ${row.dataset.key} is back where it was.`);
      row.querySelector("[data-move]")?.focus();
    } catch (error) {
      say(error.message, { error: true });
    }
  }

  function buttonMove(button) {
    const row = button.closest(".backlog-row");
    const list = listOf(row);
    const rows = rowsOf(list);
    const index = rows.indexOf(row);
    const fromNext = row.nextElementSibling;
    let placement;
    switch (button.dataset.move) {
      case "top":
        if (index === 0) return;
        placement = { position: "top" };
        list.prepend(row);
        break;
      case "up":
        if (index === 0) return;
        placement = { before: rows[index - 1].dataset.key };
        list.insertBefore(row, rows[index - 1]);
        break;
      case "down":
        if (index === rows.length - 1) return;
        placement = { after: rows[index + 1].dataset.key };
        rows[index + 1].after(row);
        break;
      case "across": {
        const other = [...root.querySelectorAll("[data-list]")].find((candidate) => candidate !== list);
        if (!other) return;
        placement = { position: button.form.querySelector("[name=position]").value };
        if (placement.position === "top") other.prepend(row);
        else other.insertBefore(row, moreOf(other));
        break;
      }
      default:
        if (index === rows.length - 1 && !moreOf(list)) return;
        placement = { position: "bottom" };
        if (moreOf(list)) row.remove(); // it goes below stories not loaded yet
        else list.append(row);
    }
    if (row.isConnected) button.focus();
    persist(row, placement, list, fromNext);
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (button && root.contains(button)) {
      event.preventDefault();
      buttonMove(button);
    }
  });
  status?.addEventListener("click", (event) => {
    if (event.target.closest("[data-undo]")) undo();
  });

  // Multi-select: say how many are selected.
  const bulkCount = document.querySelector("[data-selected-count]");
  document.addEventListener("change", (event) => {
    if (!bulkCount || !event.target.matches(".row-select")) return;
    const n = document.querySelectorAll(".row-select:checked").length;
    bulkCount.textContent = n ? `${n} selected` : "No stories selected";
  });

  for (const list of root.querySelectorAll("[data-list]")) {
    if (!window.Sortable || list.dataset.sortable === "off") continue;
    window.Sortable.create(list, {
      group: root.dataset.group || list.id,
      handle: ".drag-handle",
      draggable: ".backlog-row",
      animation: 120,
      forceFallback: root.dataset.forceFallback === "1",
      onChoose(event) { event.item._from = { list: event.from, next: event.item.nextElementSibling }; },
      onEnd(event) {
        const row = event.item;
        const from = row._from || { list: event.from, next: null };
        if (event.from === event.to && event.oldIndex === event.newIndex) return;
        const more = moreOf(event.to);
        if (more && more.compareDocumentPosition(row) & Node.DOCUMENT_POSITION_FOLLOWING) event.to.insertBefore(row, more);
        persist(row, placementOf(row), from.list, from.next);
      },
    });
  }
  window.sprintboardReady("backlog");
})();
