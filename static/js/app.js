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
