// "Copy" buttons (the certificate's share link): a button with data-copy="<selector of an
// input>" copies the input's value and then says data-copied. No libraries.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.dataset.copy);
      var done = function () { button.textContent = button.dataset.copied; };
      if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done); }
      else { input.select(); document.execCommand("copy"); done(); }
    });
  });
})();
