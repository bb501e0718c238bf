// "Copy" buttons: <button data-copy-target="ID"> copies the text of the element with that id.
// Without JavaScript (or clipboard access) the text stays on the page to select by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy-target]");
  if (!button || !navigator.clipboard) return;
  var target = document.getElementById(button.getAttribute("data-copy-target"));
  if (!target) return;
  var label = button.textContent;
  navigator.clipboard.writeText(target.textContent.trim()).then(function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 2000);
  });
});
