// Progressive enhancement for the 96010 web form. The form works without this file.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }

  // Character counter for the description.
  var description = document.getElementById("description");
  var count = document.getElementById("description-count");
  if (description && count) {
    description.addEventListener("input", function () {
      count.textContent = String(description.value.length);
    });
  }

  // Geolocation: fills the hidden lat/lon fields; the address field stays the fallback.
  var locate = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = "正在获取位置……";
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        status.textContent = "已获取当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      }, function () {
        status.textContent = "无法获取位置，请在上方填写地址";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // Same rounding as the server's size_label: never promise more than fits.
  function sizeLabel(size) {
    var mb = size / 1048576;
    if (mb >= 10 || (mb >= 1 && mb === Math.floor(mb))) { return Math.floor(mb) + " MB"; }
    if (mb >= 0.1) { return (Math.floor(mb * 10) / 10).toFixed(1) + " MB"; }
    return Math.floor(size / 1024) + " KB";
  }

  // Photo previews and a size/count check before anything is sent.
  var photos = document.getElementById("photos");
  var previews = document.getElementById("previews");
  var photoError = document.getElementById("photos-client-error");
  if (photos && previews && window.URL && URL.createObjectURL) {
    var maxBytes = parseInt(photos.getAttribute("data-max-bytes"), 10);
    var maxCount = parseInt(photos.getAttribute("data-max-count"), 10);
    var maxTotal = parseInt(photos.getAttribute("data-max-total"), 10) || 0;
    photos.addEventListener("change", function () {
      while (previews.firstChild) {
        URL.revokeObjectURL(previews.firstChild.src);
        previews.removeChild(previews.firstChild);
      }
      var problem = "";
      var files = photos.files || [];
      if (files.length > maxCount) {
        problem = "最多上传 " + maxCount + " 张照片，请重新选择";
      }
      var total = 0;
      for (var i = 0; i < files.length && !problem; i++) {
        total += files[i].size;
        if (files[i].size > maxBytes) {
          problem = "照片“" + files[i].name + "”超过 " + sizeLabel(maxBytes) + "，请换一张";
        }
      }
      if (!problem && maxTotal && total > maxTotal) {
        problem = "照片合计超过 " + sizeLabel(maxTotal) + "，请减少张数或换小一些的照片";
      }
      if (problem) {
        photos.value = "";
        photoError.textContent = problem;
        photoError.hidden = false;
        return;
      }
      photoError.hidden = true;
      for (var j = 0; j < files.length; j++) {
        var img = document.createElement("img");
        img.alt = "照片预览 " + (j + 1);
        img.src = URL.createObjectURL(files[j]);
        previews.appendChild(img);
      }
    });
  }

  // One submission at a time: a second tap while sending does nothing.
  var submit = document.getElementById("submit");
  var submitLabel = submit ? submit.textContent : "";
  form.addEventListener("submit", function () {
    if (submit) {
      window.setTimeout(function () { submit.disabled = true; submit.textContent = "正在提交……"; }, 0);
    }
  });
  // Back from the confirmation page (back/forward cache): the button works again; the server
  // recognises the same page and shows the same ticket.
  window.addEventListener("pageshow", function () {
    if (submit) { submit.disabled = false; submit.textContent = submitLabel; }
  });
})();
