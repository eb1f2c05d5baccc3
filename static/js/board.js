// The board: drag and drop (SortableJS), keyboard moves, the side panel and live polling.
//
// Live: every data-poll-ms the board asks its fragment URL with If-None-Match set to the ETag it
// holds (the project's event sequence, active sprint, role and day). An unchanged board answers
// 304 and nothing happens; a changed one answers the new fragment, which replaces the old.
(() => {
  "use strict";

  // Dialogs opened from a link (the link's page is the fallback without JavaScript): sprint close.
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    const target = opener && document.getElementById(opener.dataset.openDialog);
    if (target && typeof target.showModal === "function") {
      event.preventDefault();
      target.showModal();
      return;
    }
    const closer = event.target.closest("dialog [data-close-dialog]");
    if (closer && !closer.closest("#move-dialog")) closer.closest("dialog").close();
  });

  const board = document.getElementById("board");
  if (!board) return;
  document.body.dataset.setup = "board"; // body[data-ready] waits for the end of this setup (app.js)
  const panel = document.getElementById("board-panel");
  const status = document.getElementById("board-status");
  const errorBox = document.getElementById("board-error");
  const dialog = document.getElementById("move-dialog");
  const canMove = board.dataset.canMove === "1";
  const pollMs = Math.max(250, parseInt(board.dataset.pollMs, 10) || 1500);
  let etag = board.dataset.etag;
  let dragging = false;
  let busy = false;
  let lastCard = null; // the key of the card the panel or dialog was opened from
  let sortables = [];

  const csrfToken = () => {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };

  const announce = (message) => {
    status.textContent = "";
    window.setTimeout(() => { status.textContent = message; }, 30);
  };

  const showError = (message) => {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  };

  const cardByKey = (key) => key && document.getElementById(`card-${key}`);

  // --- Rendering a new fragment --------------------------------------------------------------

  const swap = (html) => {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".story-card");
    const focusKey = focused && board.contains(focused) ? focused.dataset.key : null;
    sortables.forEach((sortable) => sortable.destroy());
    board.innerHTML = html;
    setUp();
    const again = cardByKey(focusKey);
    if (again) again.focus();
  };

  const load = async (conditional) => {
    const headers = { "X-Requested-With": "fetch" };
    if (conditional && etag) headers["If-None-Match"] = etag;
    const response = await fetch(board.dataset.liveUrl, { headers, cache: "no-store", credentials: "same-origin" });
    if (response.status === 304) return false;
    if (!response.ok) return false;
    const html = await response.text();
    etag = response.headers.get("ETag") || etag;
    if (dragging) return false; // never pull a card from under the pointer; the next poll brings it
    swap(html);
    return true;
  };

  const refresh = () => load(false).catch(() => {});

  const poll = async () => {
    if (!document.hidden && !dragging && !busy) {
      try {
        await load(true);
      } catch (_) {
        // offline or restarting: try again at the next tick
      }
    }
    window.setTimeout(poll, pollMs);
  };

  // --- Moves ----------------------------------------------------------------------------------

  const states = () => Array.from(board.querySelectorAll(".column-head")).map((head) => ({
    id: head.dataset.state,
    name: head.querySelector(".column-name").textContent.trim(),
  }));

  const move = async (key, version, stateId) => {
    busy = true;
    const body = new FormData();
    body.append("story", key);
    body.append("version", version);
    body.append("state", stateId);
    try {
      const response = await fetch(board.dataset.moveUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      let data = {};
      try { data = await response.json(); } catch (_) { data = {}; }
      if (response.ok) {
        showError(data.warning || ""); // over a WIP limit under the "warn" policy: said where it is seen
        announce(data.message || "Moved.");
      } else {
        const message = (data.errors && data.errors[0] && data.errors[0].message) || "The card could not be moved.";
        showError(message);
        announce(message);
      }
    } catch (_) {
      showError("The card could not be moved: the server did not answer. Try again.");
    } finally {
      busy = false;
      // Success shows the card where the server put it; a refusal snaps it back.
      await refresh();
      const card = cardByKey(key);
      if (card) card.focus();
    }
  };

  const moveBy = (card, step) => {
    const list = states();
    const index = list.findIndex((state) => state.id === card.dataset.state);
    const target = list[index + step];
    if (!target) {
      announce(step > 0 ? "This card is already in the last column." : "This card is already in the first column.");
      return;
    }
    move(card.dataset.key, card.dataset.version, target.id);
  };

  // --- Collapsible closed columns (done and cancelled), remembered per project in this browser ----------

  const collapsedKey = `sprintboard:collapsed:${board.dataset.liveUrl}`;
  const collapsed = () => {
    try { return new Set(JSON.parse(window.localStorage.getItem(collapsedKey) || "[]")); } catch (_) { return new Set(); }
  };
  const remember = (ids) => {
    try { window.localStorage.setItem(collapsedKey, JSON.stringify([...ids])); } catch (_) { /* private mode: not kept */ }
  };

  // The grid's column widths follow the columns' order: a collapsed column is a narrow strip that still takes drops.
  const layOut = () => {
    const grid = board.querySelector(".board-grid");
    if (!grid) return;
    const shut = collapsed();
    const heads = Array.from(grid.querySelectorAll(".column-head"));
    grid.style.gridTemplateColumns = heads.map((head) => (shut.has(head.dataset.state) ? "var(--collapsed-width)" : "var(--column-width)")).join(" ");
    heads.forEach((head) => {
      const isShut = shut.has(head.dataset.state);
      head.classList.toggle("is-collapsed", isShut);
      const toggle = head.querySelector(".column-toggle");
      if (toggle) {
        const name = head.querySelector(".column-name").textContent.trim();
        toggle.setAttribute("aria-expanded", String(!isShut));
        toggle.setAttribute("aria-label", `${isShut ? "Expand" : "Collapse"} the ${name} column`);
        toggle.title = isShut ? `Show ${name}` : `Collapse ${name}`;
        toggle.firstElementChild.textContent = isShut ? "»" : "«";
      }
    });
    grid.querySelectorAll(".column-cell").forEach((cell) => cell.classList.toggle("is-collapsed", shut.has(cell.dataset.state)));
    // The column heads stay at the top of the board's scroll, the swimlane heads just under them.
    const head = heads[0];
    if (head) grid.style.setProperty("--head-height", `${head.offsetHeight}px`);
  };

  const addToggles = () => {
    board.querySelectorAll(".column-head.category-done, .column-head.category-cancelled").forEach((head) => {
      if (head.querySelector(".column-toggle")) return;
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "column-toggle button icon small";
      toggle.dataset.toggleColumn = head.dataset.state;
      const icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      toggle.append(icon);
      head.append(toggle);
    });
  };

  board.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-toggle-column]");
    if (!toggle) return;
    const shut = collapsed();
    const id = toggle.dataset.toggleColumn;
    if (shut.has(id)) shut.delete(id); else shut.add(id);
    remember(shut);
    layOut();
    toggle.focus();
  });

  // The board scrolls inside itself, as high as the window below the board's top (the page never scrolls sideways).
  const fitHeight = () => {
    const grid = board.querySelector(".board-grid");
    if (grid) board.style.setProperty("--board-top", `${Math.round(grid.getBoundingClientRect().top + window.scrollY)}px`);
  };
  window.addEventListener("resize", fitHeight);

  const setUp = () => {
    sortables = [];
    addToggles();
    layOut();
    fitHeight();
    if (!canMove || typeof Sortable === "undefined") return;
    board.querySelectorAll(".column-cell").forEach((list) => {
      sortables.push(Sortable.create(list, {
        group: "board",
        draggable: ".story-card",
        filter: "button, a",
        preventOnFilter: false,
        forceFallback: true, // pointer events rather than native drag: the same on mouse, touch and in tests
        fallbackTolerance: 3,
        animation: 120,
        onStart: () => { dragging = true; },
        onEnd: (event) => {
          dragging = false;
          const card = event.item;
          if (event.to === event.from) {
            if (event.oldIndex !== event.newIndex) refresh(); // within a column cards keep rank order
            return;
          }
          const target = event.to.dataset.state;
          if (target === card.dataset.state) { refresh(); return; } // another swimlane: the card stays in its lane
          move(card.dataset.key, card.dataset.version, target);
        },
      }));
    });
  };

  // --- Keyboard, the move dialog and the side panel ---------------------------------------------

  board.addEventListener("keydown", (event) => {
    const card = event.target.closest && event.target.closest(".story-card");
    if (!card || event.target !== card || !canMove) return;
    if (event.shiftKey && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      event.preventDefault();
      moveBy(card, event.key === "ArrowRight" ? 1 : -1);
    } else if (event.key === "Enter") {
      const open = card.querySelector(".card-open");
      if (open) { event.preventDefault(); open.click(); }
    }
  });

  const openDialog = (card) => {
    if (!dialog) return;
    lastCard = card.dataset.key;
    const form = dialog.querySelector("form");
    form.elements.story.value = card.dataset.key;
    form.elements.version.value = card.dataset.version;
    dialog.querySelector("[data-move-key]").textContent = card.dataset.key;
    const select = form.elements.state;
    let next = null;
    Array.from(select.options).forEach((option, index) => {
      const current = option.value === card.dataset.state;
      option.disabled = current;
      option.textContent = option.textContent.replace(/ \(current\)$/, "") + (current ? " (current)" : "");
      if (current) next = select.options[index + 1] || select.options[index - 1];
    });
    if (next) select.value = next.value;
    dialog.showModal();
    select.focus();
  };

  if (dialog) {
    dialog.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      dialog.close();
      move(form.elements.story.value, form.elements.version.value, form.elements.state.value);
    });
    dialog.querySelector("[data-close-dialog]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      const card = cardByKey(lastCard);
      if (card) card.focus();
    });
  }

  // The side panel is the story page's ?panel=1 fragment (data-panel-url, STORY-KEY in place of the key);
  // the card's link itself goes to the story page, for a new tab or without JavaScript.
  const openPanel = (link) => {
    const card = link.closest(".story-card");
    lastCard = card ? card.dataset.key : null;
    if (typeof htmx === "undefined" || !card || !board.dataset.panelUrl) { window.location = link.href; return; }
    const url = board.dataset.panelUrl.replace("STORY-KEY", encodeURIComponent(card.dataset.key));
    delete panel.dataset.ready;
    htmx.ajax("GET", url, { target: "#board-panel", swap: "innerHTML" }).then(() => {
      panel.hidden = false;
      document.body.classList.add("has-board-panel"); // a phone shows the panel over the board
      panel.focus();
      panel.dataset.ready = card.dataset.key;
    });
  };

  // A change refused inside the panel (400 bad input, 409 stale version or WIP, 404 deleted meanwhile)
  // answers the panel again with the reason: show it there, although htmx leaves error answers unswapped.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail;
    if (!detail.target || !panel.contains(detail.target) || detail.xhr.status < 400 || detail.xhr.status >= 500) return;
    if (!/class="story-panel"/.test(detail.xhr.responseText || "")) return;
    detail.shouldSwap = true;
    detail.isError = false;
  });

  // After a change in the panel, focus its outcome (the message, or the form's errors) so it is read out.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (!panel.contains(event.target)) return; // the event fires on the new content
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "get") return; // opening: the panel takes focus
    const outcome = panel.querySelector(".story-notice, .errorlist[role=alert]");
    if (outcome) {
      if (!outcome.hasAttribute("tabindex")) outcome.setAttribute("tabindex", "-1");
      outcome.focus();
    }
  });

  document.addEventListener("click", (event) => {
    const moveButton = event.target.closest("[data-move]");
    if (moveButton && board.contains(moveButton)) {
      openDialog(moveButton.closest(".story-card"));
      return;
    }
    const link = event.target.closest(".card-open");
    if (link && board.contains(link) && !(event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1)) {
      event.preventDefault();
      openPanel(link);
      return;
    }
    if (event.target.closest("[data-close-panel]")) {
      panel.hidden = true;
      panel.innerHTML = "";
      delete panel.dataset.ready;
      document.body.classList.remove("has-board-panel");
      const card = cardByKey(lastCard);
      if (card) card.focus();
    }
  });

  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      const close = panel.querySelector("[data-close-panel]");
      if (close) close.click();
    }
  });

  // A change made in the panel (HX-Trigger: board-changed) shows on the board at once.
  document.body.addEventListener("board-changed", () => refresh());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) load(true).catch(() => {}); });

  setUp();
  window.setTimeout(poll, pollMs);
  window.sprintboardReady("board");
})();
