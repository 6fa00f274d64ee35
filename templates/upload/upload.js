// The upload form's progress bar and drop zone; the form works without them (a plain post).
// Same origin only (CSP script-src 'self'); no other script runs on the page.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var box = document.getElementById("progress-box");
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var drop = document.getElementById("drop");
  var input = document.getElementById("file");

  if (drop && input && window.DataTransfer) {
    var hint = drop.querySelector(".drop-hint");
    if (hint) hint.hidden = false;
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      var all = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
      Array.prototype.forEach.call(e.dataTransfer.files, function (f) { all.items.add(f); });
      input.files = all.files;
    });
  }

  // Files over the size limit together are not sent at all (the server would stop reading
  // and answer 413 anyway): the patron is told at once.
  var tooLarge = document.getElementById("too-large");
  var selectedBytes = function () {
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (i) {
      Array.prototype.forEach.call(i.files, function (f) { total += f.size; });
    });
    return total;
  };

  form.addEventListener("submit", function (e) {
    if (!form.checkValidity()) return;
    e.preventDefault();
    var max = Number(form.getAttribute("data-max-bytes"));
    if (max && tooLarge && selectedBytes() > max) {
      tooLarge.textContent = form.getAttribute("data-too-large");
      tooLarge.hidden = false;
      tooLarge.setAttribute("tabindex", "-1");
      tooLarge.focus();
      return;
    }
    if (tooLarge) tooLarge.hidden = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    box.hidden = false;
    xhr.upload.addEventListener("progress", function (p) {
      if (!p.lengthComputable) return;
      var percent = Math.floor((p.loaded / p.total) * 100);
      bar.value = percent;
      text.textContent = percent + " %";
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      text.textContent = box.getAttribute("data-done") || "100 %";
    });
    xhr.addEventListener("load", function () {
      // Accepted: the server redirected to the results page. Anything else is a page in words.
      if (xhr.responseURL && xhr.responseURL.indexOf("/upload/") !== -1 && xhr.status === 200) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { form.submit(); });
    xhr.send(new FormData(form));
  });
})();
