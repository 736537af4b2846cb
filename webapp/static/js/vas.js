/* EQ VAS: makes the drawn vertical 0-100 scale touchable (progressive enhancement).
   Without this script the patient types the number into the box beside the drawing.
   Nothing is marked on the scale until the patient sets a value: the slider stays
   invisible (no thumb, no fill) and screen readers hear "no answer yet". */
(function () {
  "use strict";
  function enhance(box) {
    var input = box.querySelector("input[type=number]");
    var track = box.querySelector(".vas-track");
    if (!input || !track) { return; }
    var min = Number(box.getAttribute("data-min")), max = Number(box.getAttribute("data-max"));
    var range = document.createElement("input");
    range.type = "range";
    range.min = String(min);
    range.max = String(max);
    range.step = "1";
    range.className = "vas-range";
    range.setAttribute("aria-orientation", "vertical");
    var label = box.querySelector("label[for='" + input.id + "']");
    if (label) {
      label.id = input.id + "-vas-label";
      range.setAttribute("aria-labelledby", label.id);
    }
    function valid(text) {
      var n = Number(text);
      return text !== "" && /^[0-9]+$/.test(text) && n >= min && n <= max;
    }
    function unset() {
      range.classList.add("unset");
      range.value = String(Math.round((min + max) / 2));
      range.setAttribute("aria-valuetext", box.getAttribute("data-unset"));
    }
    function set(value) {
      range.value = value;
      range.classList.remove("unset");
      range.removeAttribute("aria-valuetext");
    }
    if (valid(input.value.trim())) { set(input.value.trim()); } else { unset(); }
    range.addEventListener("input", function () {
      input.value = range.value;
      set(range.value);
    });
    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (valid(text)) { set(text); } else if (text === "") { unset(); }
    });
    track.appendChild(range);
    box.classList.add("vas-enhanced");
  }
  var boxes = document.querySelectorAll("[data-vas]");
  for (var i = 0; i < boxes.length; i++) { enhance(boxes[i]); }
}());
