// The grid worker's report page: the browser's location (shown with the grid cell it falls
// in, and the cell chosen when it is one of the worker's) and how many photos are chosen.
// Nothing from the server is written as HTML: textContent only.
"use strict";
(function () {
  const button = document.getElementById("grid-locate");
  const where = document.getElementById("grid-where");
  const lat = document.getElementById("grid-lat");
  const lon = document.getElementById("grid-lon");
  const cell = document.getElementById("grid-cell");
  const photo = document.getElementById("grid-photo");
  const count = document.getElementById("grid-photo-count");
  if (photo && count) {
    photo.addEventListener("change", function () {
      count.textContent = photo.files.length ? "已选择 " + photo.files.length + " 张照片" : "";
    });
  }
  if (!button || !where) return;
  button.addEventListener("click", function () {
    if (!navigator.geolocation) {
      where.textContent = "此浏览器不能获取位置，请手动选择网格";
      return;
    }
    where.textContent = "正在获取位置…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      const la = pos.coords.latitude.toFixed(6), lo = pos.coords.longitude.toFixed(6);
      lat.value = la;
      lon.value = lo;
      fetch("/console/grid/where?lat=" + la + "&lon=" + lo, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (found) {
          where.textContent = la + ", " + lo + " · " + found.name +
            (found.grid && !found.mine ? "（不是您负责的网格）" : "");
          if (found.mine && cell) cell.value = found.grid;
        })
        .catch(function () { where.textContent = la + ", " + lo + " · 无法确定网格"; });
    }, function () {
      where.textContent = "无法获取位置（请允许定位），也可以直接选择网格";
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
})();
