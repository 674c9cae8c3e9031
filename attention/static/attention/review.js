// Keyboard scoring on the judges' review queue: digits pick a score (1 then 0 quickly makes 10), Enter submits.
// Keys typed into the comment box are left alone (Enter there is a new line; Ctrl+Enter submits from anywhere).
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var shown = document.getElementById("review-picked");
  var typed = "";
  var timer = null;

  function pick(value) {
    var radio = form.querySelector('input[name="score"][value="' + value + '"]');
    if (!radio) { return false; }
    radio.checked = true;
    radio.focus();
    if (shown) { shown.textContent = String(value); }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var inText = target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"));
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey || !inText)) {
      if (form.querySelector('input[name="score"]:checked')) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
      return;
    }
    if (inText || event.altKey || event.ctrlKey || event.metaKey || !/^[0-9]$/.test(event.key)) { return; }
    event.preventDefault();
    typed = (typed === "1" && event.key === "0") ? "10" : event.key;
    pick(Number(typed));
    clearTimeout(timer);
    timer = setTimeout(function () { typed = ""; }, 800);
  });
})();
