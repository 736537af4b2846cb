/* EQ VAS as a vertical 0-100 scale (progressive enhancement of the number field). */
(function () {
  "use strict";
  function enhance(box) {
    var input = box.querySelector("input[type=number]");
    if (!input) { return; }
    var min = Number(box.getAttribute("data-min")), max = Number(box.getAttribute("data-max"));
    var scale = document.createElement("div");
    scale.className = "vas-scale";
    var top = document.createElement("p");
    top.className = "vas-end";
    top.textContent = box.getAttribute("data-max-label") + " (" + max + ")";
    var bottom = document.createElement("p");
    bottom.className = "vas-end";
    bottom.textContent = box.getAttribute("data-min-label") + " (" + min + ")";
    var track = document.createElement("div");
    track.className = "vas-track";
    var ticks = document.createElement("ol");
    ticks.className = "vas-ticks";
    ticks.setAttribute("aria-hidden", "true");
    for (var v = max; v >= min; v -= 10) {
      var li = document.createElement("li");
      li.textContent = String(v);
      ticks.appendChild(li);
    }
    var range = document.createElement("input");
    range.type = "range";
    range.min = String(min);
    range.max = String(max);
    range.step = "1";
    range.className = "vas-range" + (input.value === "" ? " unset" : "");
    range.value = input.value === "" ? String((min + max) / 2) : input.value;
    // no mark yet: screen readers hear "no answer yet", not the thumb's resting value
    if (input.value === "") { range.setAttribute("aria-valuetext", box.getAttribute("data-unset")); }
    function touched() {
      range.classList.remove("unset");
      range.removeAttribute("aria-valuetext");
    }
    range.setAttribute("aria-labelledby", input.id + "-vas-label");
    range.setAttribute("aria-orientation", "vertical");
    var label = box.querySelector("label[for='" + input.id + "']");
    if (label) { label.id = input.id + "-vas-label"; }
    range.addEventListener("input", function () {
      input.value = range.value;
      touched();
    });
    input.addEventListener("input", function () {
      if (input.value !== "") { range.value = input.value; touched(); }
    });
    track.appendChild(ticks);
    track.appendChild(range);
    scale.appendChild(top);
    scale.appendChild(track);
    scale.appendChild(bottom);
    input.parentNode.insertBefore(scale, input);
    box.classList.add("vas-enhanced");
  }
  var boxes = document.querySelectorAll("[data-vas]");
  for (var i = 0; i < boxes.length; i++) { enhance(boxes[i]); }
}());
