// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
  });
});

// data-css-vars="--name: value; ...": custom properties a page's data sets (a label's colour, a board's column
// count). The Content-Security-Policy refuses style attributes; properties set from script are allowed. Set on
// the page as it loads and on every element added later (htmx swaps, the board's live updates).
(() => {
  const apply = (element) => {
    for (const declaration of element.dataset.cssVars.split(";")) {
      const colon = declaration.indexOf(":");
      const name = declaration.slice(0, colon).trim();
      if (colon > 0 && name.startsWith("--")) element.style.setProperty(name, declaration.slice(colon + 1).trim());
    }
  };
  const applyWithin = (root) => {
    if (root.matches("[data-css-vars]")) apply(root);
    root.querySelectorAll("[data-css-vars]").forEach(apply);
  };
  applyWithin(document.documentElement);
  new MutationObserver((changes) => {
    changes.forEach((change) => change.addedNodes.forEach((node) => {
      if (node.nodeType === Node.ELEMENT_NODE) applyWithin(node);
    }));
  }).observe(document.documentElement, { childList: true, subtree: true });
})();

// Forms with data-confirm ask before they submit (the CSP refuses inline onsubmit handlers).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// htmx forms with data-reset-on-success are emptied after a successful request, ready for the next entry.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!event.detail.successful || !form.matches("form[data-reset-on-success]")) return;
  form.reset();
  form.querySelector("input:not([type=hidden])")?.focus();
});

// The form marked data-swap-errors that sent an htmx request, or null.
const swapsErrors = (event) => event.detail.requestConfig?.elt?.closest("[data-swap-errors]") ?? null;

// A form marked data-swap-errors is answered with its fragment whether the change is made or refused (400 bad
// input, 409 conflict: the fragment then names the problem): show a refusal in place too, although htmx leaves
// error answers unswapped.
document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  if (!swapsErrors(event)) return;
  if (detail.xhr.status !== 400 && detail.xhr.status !== 409) return; // not another page's error (403, 404, 500)
  detail.shouldSwap = true;
  detail.isError = false;
});

// A failure without a fragment to show (403, 404, a server error, no connection) is said in the form itself, and
// what was typed stays there.
(() => {
  const unsaved = (event, text) => {
    const form = swapsErrors(event);
    if (!form) return;
    let alert = form.querySelector(".request-error");
    if (!alert) {
      alert = document.createElement("p");
      alert.className = "field-error request-error";
      alert.setAttribute("role", "alert");
      form.append(alert);
    }
    alert.textContent = text;
  };
  document.addEventListener("htmx:responseError", (event) => {
    unsaved(event, `Not saved: the server answered ${event.detail.xhr.status}. Reload the page and try again.`);
  });
  document.addEventListener("htmx:sendError", (event) => {
    unsaved(event, "Not saved: the server could not be reached. Try again.");
  });
})();

// Then focus its outcome, so that it is read out and the next step is where the keyboard is: the field to correct
// of a refusal, or the notice of a change made. The event fires on the content swapped in.
document.addEventListener("htmx:afterSwap", (event) => {
  if (!swapsErrors(event)) return;
  const content = event.target;
  const invalid = content.querySelector(".errorlist")?.parentElement?.querySelector("textarea, input, select");
  (invalid || content.querySelector(".story-notice"))?.focus();
});

// Folds that only fold on a phone (details[data-fold-narrow], rendered open): closed on a narrow screen when the
// page opens, and open again whenever the window is wide (where their summary is not shown).
(() => {
  const narrow = window.matchMedia("(max-width: 700px)");
  const folds = () => document.querySelectorAll("details[data-fold-narrow]");
  document.addEventListener("DOMContentLoaded", () => {
    if (narrow.matches) folds().forEach((fold) => { fold.open = false; });
  });
  narrow.addEventListener("change", () => {
    if (!narrow.matches) folds().forEach((fold) => { fold.open = true; });
  });
})();

// A search box over a long menu (input[data-filter-options] naming a <select> by id; hidden without script):
// typing keeps the options whose text holds every word typed, and chooses the first of them when the one chosen
// is filtered out. Used to find the request or story a request merges into.
(() => {
  const filter = (input) => {
    const select = document.getElementById(input.dataset.filterOptions);
    if (!select) return;
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let first = null;
    for (const option of select.options) {
      if (!option.value) continue; // the prompt stays
      const text = option.textContent.toLowerCase();
      option.hidden = !words.every((word) => text.includes(word));
      if (!option.hidden && first === null) first = option;
    }
    const chosen = select.selectedOptions[0];
    if (words.length && (!chosen || !chosen.value || chosen.hidden)) select.value = first ? first.value : "";
  };
  document.addEventListener("input", (event) => {
    if (event.target.matches("input[data-filter-options]")) filter(event.target);
  });
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("input[data-filter-options]").forEach((input) => { input.hidden = false; });
  });
})();

// Readiness: body[data-ready] says the page's scripts are set up (browser tests wait for it, never for time).
// Every script is deferred, so all have run before DOMContentLoaded, and htmx (whose listener was added
// before this one) has processed the page by the time it fires. A page script with a setup of its own
// (board.js, backlog.js, reports.js) claims the page with body[data-setup] and calls sprintboardReady() at
// the very end of that setup: a setup that throws leaves the page visibly not ready.
(() => {
  let contentLoaded = false;
  const pending = [];
  const mark = (name) => { document.body.dataset.ready = name; };
  window.sprintboardReady = (name) => {
    if (contentLoaded) mark(name);
    else pending.push(name);
  };
  document.addEventListener("DOMContentLoaded", () => {
    contentLoaded = true;
    if (!document.body.dataset.setup) mark("page");
    pending.forEach(mark);
  });
})();

// The search box in the header: "/" or Ctrl+K (Cmd+K) focuses it, unless one is typing in a field already.
document.addEventListener("keydown", (event) => {
  const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey;
  const ctrlK = (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k";
  if (!slash && !ctrlK) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])")) return;
  const box = document.querySelector("[data-search-box]");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});
