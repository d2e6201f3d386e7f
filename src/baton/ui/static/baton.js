// Baton dashboard behaviour that htmx attributes cannot express: log filtering and following,
// and opening a step from the graph or the timeline. Loaded from /static (the CSP allows no inline script).
(function () {
  "use strict";
  function runId() {
    var main = document.querySelector("main.runpage");
    return main ? main.getAttribute("data-run") : null;
  }
  function openStep(stepId) {
    var run = runId();
    if (!run || !stepId || !window.htmx) return;
    var url = "/runs/" + encodeURIComponent(run) + "/steps/" + encodeURIComponent(stepId);
    window.htmx.ajax("GET", url, { target: "#panel", swap: "outerHTML" });
    var marked = document.querySelectorAll("svg .node.selected");
    for (var i = 0; i < marked.length; i++) marked[i].classList.remove("selected");
    var node = document.querySelector('svg .node[data-id="' + CSS.escape(stepId) + '"]');
    if (node) node.classList.add("selected");
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var node = target.closest("svg .node[data-id], svg .bar[data-step]");
    if (!node) return;
    openStep(node.getAttribute("data-id") || node.getAttribute("data-step"));
  });
  function applyFilter() {
    var form = document.getElementById("logfilter");
    var rows = document.getElementById("logrows");
    if (!form || !rows) return;
    var level = form.elements["level"].value;
    var step = form.elements["step"].value;
    rows.className = "logrows min-" + level;
    var items = rows.children;
    for (var i = 0; i < items.length; i++) {
      var li = items[i];
      li.classList.toggle("off", !!step && li.getAttribute("data-step") !== step);
    }
  }
  function follow() {
    var form = document.getElementById("logfilter");
    var rows = document.getElementById("logrows");
    if (form && rows && form.elements["follow"].checked) rows.scrollTop = rows.scrollHeight;
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("#logfilter")) { applyFilter(); follow(); }
  });
  document.addEventListener("htmx:sseMessage", function () { applyFilter(); follow(); });
  document.addEventListener("DOMContentLoaded", function () { applyFilter(); follow(); });
})();
