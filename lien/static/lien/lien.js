/* Lien — small progressive enhancements. Everything works without this file.
 *
 * The header menus are native <details> elements. Here: only one is open at a time,
 * Escape closes the open one (and puts the focus back on its button), and a click
 * elsewhere on the page closes it.
 */
(function () {
  "use strict";

  function menus() {
    return document.querySelectorAll(".site-header details.menu");
  }

  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.matches || !opened.matches(".site-header details.menu") || !opened.open) {
      return;
    }
    menus().forEach(function (menu) {
      if (menu !== opened) {
        menu.open = false;
      }
    });
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    menus().forEach(function (menu) {
      if (menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });

  document.addEventListener("click", function (event) {
    menus().forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
  /* Map shapes open their territory on click (mouse convenience: the table beside the map
   * carries the same links for keyboards and screen readers). */
  document.addEventListener("click", function (event) {
    var shape = event.target.closest && event.target.closest("[data-href]");
    if (shape && shape.getAttribute("data-href").charAt(0) === "?") {
      window.location.search = shape.getAttribute("data-href");
    }
  });
  /* "Utiliser ma position" on a dysfunction report: fills latitude and longitude from the
   * phone's location (only when the person presses it; nothing is sent otherwise). */
  var locate = document.querySelector("[data-geolocate]");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      var status = document.querySelector("[data-geolocate-status]");
      status.textContent = "Recherche de la position…";
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("id_latitude").value = position.coords.latitude.toFixed(5);
        document.getElementById("id_longitude").value = position.coords.longitude.toFixed(5);
        status.textContent = "Position ajoutée (précision " +
          Math.round(position.coords.accuracy) + " m).";
      }, function () {
        status.textContent = "Position indisponible : indiquez une adresse ou un repère.";
      }, {enableHighAccuracy: true, timeout: 10000});
    });
  }
})();
