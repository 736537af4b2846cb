/* Grouped questions (RAND-36): the printed stem stays in view while the patient scrolls
   the screen's questions (progressive enhancement; without this script the stem is at
   the top of each screen, as printed). Once the full stem (#page-title) has scrolled out
   at the top, a one-line condensed copy is pinned to the top of the window (about 41 px,
   under 6 % of a 740 px screen); when the full stem comes back, the copy goes.
   Screen readers skip the copy: every question is already described by the stem (and
   the copy is drawn by CSS from data-stem, so the page's text holds the stem once). */
(function () {
  "use strict";
  var stem = document.getElementById("page-title");
  if (!stem || !("IntersectionObserver" in window)) { return; }
  var bar = document.createElement("div");
  bar.className = "stem-bar";
  bar.setAttribute("aria-hidden", "true");
  bar.setAttribute("data-stem", stem.textContent);
  document.body.appendChild(bar);
  new IntersectionObserver(function (entries) {
    var seen = entries[entries.length - 1];
    var above = !seen.isIntersecting && seen.boundingClientRect.top < 0;
    bar.classList.toggle("shown", above);
    document.documentElement.classList.toggle("stem-pinned", above);
  }).observe(stem);
})();
