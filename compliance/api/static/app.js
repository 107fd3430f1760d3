// Filter the order decisions table by decision and by text; no framework, no build step.
(function () {
  var table = document.getElementById("decisions");
  if (!table) return;
  var decision = document.getElementById("filter-decision");
  var text = document.getElementById("filter-text");
  var shown = document.getElementById("shown-count");
  function apply() {
    var want = decision.value, needle = text.value.trim().toLowerCase(), n = 0;
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var ok = (!want || row.dataset.decision === want) &&
        (!needle || row.textContent.toLowerCase().indexOf(needle) >= 0);
      row.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n;
  }
  decision.addEventListener("change", apply);
  text.addEventListener("input", apply);
  apply();
})();
