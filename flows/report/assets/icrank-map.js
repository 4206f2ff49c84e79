// The report's interactive map: cluster footprints, noise and country outlines on Leaflet.
// Reads its data from the JSON script element #icrank-map-data that flows/report/webmap.py
// writes; loads nothing unless that data names a tile layer.
(function () {
  "use strict";
  var element = document.getElementById("icrank-map");
  var source = document.getElementById("icrank-map-data");
  if (!element || !source || typeof L === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var map = L.map(element, { zoomSnap: 0.25, minZoom: 1, worldCopyJump: false });
  map.attributionControl.setPrefix(false);

  var outlines = L.geoJSON(data.outlines, {
    interactive: false,
    style: function (feature) {
      return feature.properties.kind === "coast"
        ? { color: "#56626b", weight: 0.8, opacity: 0.9 }
        : { color: "#8d99a3", weight: 0.6, opacity: 0.9, dashArray: "3 3" };
    },
    attribution: data.credits.outlines,
  });
  var bases = null;
  if (data.tiles) {
    var tiles = L.tileLayer(data.tiles.url, {
      attribution: data.tiles.attribution,
      subdomains: data.tiles.subdomains,
      maxZoom: 18,
    });
    tiles.addTo(map);
    bases = { "Map tiles": tiles, "Country outlines only": outlines };
  } else {
    outlines.addTo(map);
    element.classList.add("tileless");
  }

  // Thousands of noise points draw on one canvas; footprints stay SVG paths (clickable).
  var noiseRenderer = L.canvas({ padding: 0.3 });
  var noise = L.layerGroup(
    data.noise.map(function (point) {
      return L.circleMarker([point[0], point[1]], {
        renderer: noiseRenderer,
        radius: 1.5,
        stroke: false,
        fillColor: data.colours.noise,
        fillOpacity: 0.35,
        interactive: false,
      });
    })
  );
  var byId = {};
  var clusters = L.geoJSON(data.clusters, {
    attribution: data.credits.data,
    style: function (feature) {
      var colour = feature.properties.colour;
      return {
        color: colour,
        weight: 1,
        fillColor: colour,
        fillOpacity: 0.5,
        className: "icrank-cluster",
      };
    },
    onEachFeature: function (feature, layer) {
      byId[feature.properties.cluster_id] = layer;
      layer.bindPopup(feature.properties.popup, { maxWidth: 380 });
      layer.bindTooltip(feature.properties.label, { sticky: true });
    },
  });
  // Footprints are a few kilometres across: at world scale each cluster also shows as a
  // circle at its centroid, its area proportional to its score.
  var centres = L.layerGroup(
    data.centres.map(function (centre) {
      var marker = L.circleMarker([centre.lat, centre.lon], {
        radius: centre.radius,
        color: "#ffffff",
        weight: 0.8,
        fillColor: centre.colour,
        fillOpacity: 0.85,
        className: "icrank-centre",
      });
      var footprint = byId[centre.cluster_id];
      if (footprint) {
        marker.bindPopup(footprint.getPopup().getContent(), { maxWidth: 380 });
      }
      marker.bindTooltip(centre.label);
      return marker;
    })
  );
  noise.addTo(map);
  clusters.addTo(map);
  centres.addTo(map);
  L.control
    .layers(
      bases,
      {
        "Cluster footprints": clusters,
        "Cluster centres (area ∝ score)": centres,
        "Noise (outside every cluster)": noise,
      },
      { collapsed: false }
    )
    .addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  var legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "icrank-legend");
    data.legend.forEach(function (entry) {
      var row = L.DomUtil.create("div", "", box);
      var swatch = L.DomUtil.create("span", "swatch", row);
      swatch.style.background = entry.colour;
      row.appendChild(document.createTextNode(entry.label));
    });
    return box;
  };
  legend.addTo(map);

  var bounds = clusters.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [16, 16] });
  } else {
    map.setView([20, 0], 2);
  }

  // Cluster names in the tables are links: show that cluster's footprint and profile.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-cluster]") : null;
    var layer = link && byId[link.getAttribute("data-cluster")];
    if (!layer) {
      return;
    }
    event.preventDefault();
    element.scrollIntoView({ behavior: "smooth", block: "center" });
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 8 });
    layer.openPopup();
  });

  window.icrankMap = {
    map: map,
    clusters: clusters.getLayers().length,
    centres: centres.getLayers().length,
    noise: data.noise.length,
  };
})();
