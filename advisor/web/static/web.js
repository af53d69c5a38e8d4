// A little help where it helps; every page works without it.
// - The article: a quote can be split where it overlaps another; highlight all of its parts.
// - The form: after a refused submit, move focus to the summary of problems.
(function () {
  "use strict";
  function markTarget() {
    var current = document.querySelectorAll("mark.quote.current");
    for (var i = 0; i < current.length; i++) current[i].classList.remove("current");
    var id = decodeURIComponent(location.hash.slice(1));
    if (!/^q-[0-9a-f]+$/.test(id)) return;
    var parts = document.querySelectorAll("mark.quote[data-q~='" + id + "']");
    for (var j = 0; j < parts.length; j++) parts[j].classList.add("current");
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("article.source")) {
      markTarget();
      window.addEventListener("hashchange", markTarget);
    }
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
// The summary page: the Print button prints the page (it is hidden until this script runs).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
