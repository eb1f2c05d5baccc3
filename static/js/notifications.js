// The bell in the page header, and the @mention autocomplete of the story editor and comment box.
//
// Bell: every data-poll-ms it asks its URL with If-None-Match set to the ETag it last saw, as the board
// polls its fragment (board.js); an unchanged bell answers 304 and nothing happens, a changed one answers
// the bell's new content. Polling pauses while the tab is hidden.
(() => {
  "use strict";

  const bell = document.getElementById("notification-bell");
  if (bell) {
    const url = bell.dataset.bellUrl;
    const pollMs = Math.max(1000, parseInt(bell.dataset.pollMs, 10) || 15000);
    let etag = bell.dataset.etag;
    const refresh = async () => {
      const headers = { "HX-Request": "true" };
      if (etag) headers["If-None-Match"] = etag;
      try {
        const response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
        if (response.status === 200) {
          etag = response.headers.get("ETag") || etag;
          bell.innerHTML = await response.text();
        }
      } catch (error) {
        // offline for a moment: the next poll tries again
      }
    };
    const poll = async () => {
      if (!document.hidden) await refresh();
      window.setTimeout(poll, pollMs);
    };
    window.setTimeout(poll, pollMs);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  }

  // @mentions: typing @ and a few letters in a textarea with data-members-url lists matching members.
  const cache = new Map();
  const members = async (url) => {
    if (!cache.has(url)) {
      cache.set(url, fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { results: [] }))
        .then((data) => (data.results || []).map((m) => m.username || m.user).filter(Boolean))
        .catch(() => []));
    }
    return cache.get(url);
  };
  let menu = null;
  const close = () => { if (menu) { menu.remove(); menu = null; } };
  const wordAt = (area) => {
    const before = area.value.slice(0, area.selectionStart);
    const match = /(?:^|[^\w@/.])@([\w.+-]*)$/.exec(before);
    return match ? { query: match[1], start: area.selectionStart - match[1].length } : null;
  };
  const choose = (area, word, name) => {
    area.value = area.value.slice(0, word.start) + name + " " + area.value.slice(area.selectionStart);
    const caret = word.start + name.length + 1;
    area.setSelectionRange(caret, caret);
    area.dispatchEvent(new Event("input", { bubbles: true }));
    close();
    area.focus();
  };
  const show = async (area) => {
    const word = wordAt(area);
    if (!word) return close();
    const names = (await members(area.dataset.membersUrl))
      .filter((n) => n.toLowerCase().startsWith(word.query.toLowerCase())).slice(0, 8);
    close();
    if (!names.length) return;
    menu = document.createElement("ul");
    menu.className = "mention-menu";
    menu.setAttribute("role", "listbox");
    names.forEach((name, index) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === 0 ? "true" : "false");
      item.textContent = name;
      item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(area, word, name); });
      menu.appendChild(item);
    });
    const box = area.getBoundingClientRect();
    menu.style.left = `${window.scrollX + box.left}px`;
    menu.style.top = `${window.scrollY + box.bottom}px`;
    document.body.appendChild(menu);
  };
  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches("textarea[data-members-url]")) show(event.target);
  });
  document.addEventListener("keydown", (event) => {
    if (!menu || !event.target.matches || !event.target.matches("textarea[data-members-url]")) return;
    const items = [...menu.children];
    const current = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = (current + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach((li, i) => li.setAttribute("aria-selected", i === next ? "true" : "false"));
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(event.target, wordAt(event.target), items[Math.max(0, current)].textContent);
    } else if (event.key === "Escape") {
      close();
    }
  });
  document.addEventListener("focusout", () => window.setTimeout(close, 150));
})();
