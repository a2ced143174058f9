/* L.MvtLayer: Mapbox Vector Tiles drawn on canvas tiles, with filtering, hover and hit testing.
   Leaflet has no MVT support of its own; tiles are decoded by the vendored @mapbox/vector-tile (window.MVT).
   Beyond the layer's native max zoom the deepest tile is drawn enlarged as vectors (crisp, no refetch).
   Filtering and highlighting repaint the tiles from the decoded data: no new request.
   Highlights: the feature under the pointer (hover), the one whose card is open (selected), and a set of
   features a mode has marked (e.g. the parcels picked for a joint development), drawn after the rest.
   A style may hatch a fill (diagonal lines, e.g. parcels failing the FAR floor) and case its outline (a wider
   dark line under it, e.g. the selection). */
"use strict";

(function () {
  const SOURCE_CACHE = 384; // decoded source tiles kept per layer

  /** Decode an MVT buffer into flat features: {id, key, props, rings: [Float64Array x0,y0,...], bbox}. */
  function decode(buf, name) {
    const tile = new MVT.VectorTile(new MVT.PbfReader(new Uint8Array(buf)));
    const layer = tile.layers[name];
    if (!layer) return { extent: 4096, features: [], ids: new Set() };
    const features = [];
    const ids = new Set();
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      const rings = [];
      let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
      for (const ring of f.loadGeometry()) {
        const flat = new Float64Array(ring.length * 2);
        for (let j = 0; j < ring.length; j++) {
          const p = ring[j];
          flat[2 * j] = p.x; flat[2 * j + 1] = p.y;
          if (p.x < minx) minx = p.x; if (p.x > maxx) maxx = p.x;
          if (p.y < miny) miny = p.y; if (p.y > maxy) maxy = p.y;
        }
        rings.push(flat);
      }
      const key = f.properties.code ?? f.id;  // features are matched by code (or id) across tiles
      features.push({ id: f.id, key, props: f.properties, type: f.type, rings, bbox: [minx, miny, maxx, maxy] });
      ids.add(key);
    }
    return { extent: layer.extent, features, ids };
  }

  /** A pattern of 45° lines ``spacing`` device px apart (a divisor of the tile size: the lines run on from tile to
      tile, since every tile's pattern starts at its corner); its tile is cached per colour, spacing and width. */
  const HATCHES = new Map();
  function hatch(ctx, colour, spacing, width) {
    const key = `${colour}/${spacing}/${width}`;
    let tile = HATCHES.get(key);
    if (tile) return ctx.createPattern(tile, "repeat");
    const s = Math.max(2, Math.round(spacing));
    tile = document.createElement("canvas");
    tile.width = tile.height = s;
    const c = tile.getContext("2d");
    c.strokeStyle = colour;
    c.lineWidth = width;
    c.lineCap = "square";
    c.beginPath();
    for (const k of [0, s, 2 * s]) { c.moveTo(k + 1, -1); c.lineTo(-1, k + 1); }  // x + y = k
    c.stroke();
    HATCHES.set(key, tile);
    return ctx.createPattern(tile, "repeat");
  }

  /** Even-odd point-in-polygon over all rings of a feature (holes and multipolygons alike). */
  function contains(f, x, y) {
    const b = f.bbox;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) return false;
    let inside = false;
    for (const r of f.rings) {
      const n = r.length / 2;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const xi = r[2 * i], yi = r[2 * i + 1], xj = r[2 * j], yj = r[2 * j + 1];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
    return inside;
  }

  L.MvtLayer = L.GridLayer.extend({
    options: {
      url: "",            // relative template: tiles/blocks/{z}/{x}/{y}.mvt
      name: "",           // MVT layer name inside the tile
      nativeMaxZoom: 18,  // deepest zoom requested; deeper zooms draw it enlarged
      style: null,        // (props, state, zoom) => {fill, fillOpacity, hatch, hatchOpacity, hatchSpacing (CSS px),
                          // stroke, width, dash, casing, casingWidth} or null to skip;
                          // state: "", "marked", "hover" or "selected"
      filter: null,       // (props) => bool
      updateWhenZooming: false,
      keepBuffer: 2,
    },

    initialize(options) {
      L.GridLayer.prototype.initialize.call(this, options);
      this._sources = new Map();
      this.hoverKey = null;     // code (or id) of the feature under the pointer
      this.selectedKey = null;  // code of the feature whose card is open
      this.markedKeys = new Set();  // codes of the features a mode has marked
    },

    _sourceFor(coords) {
      const dz = Math.max(0, coords.z - this.options.nativeMaxZoom);
      return { z: coords.z - dz, x: coords.x >> dz, y: coords.y >> dz, scale: 1 << dz };
    },

    _fetch(src) {
      const key = `${src.z}/${src.x}/${src.y}`;
      let p = this._sources.get(key);
      if (p) { this._sources.delete(key); this._sources.set(key, p); return p; }
      const url = L.Util.template(this.options.url, src);
      p = fetch(url).then((resp) => {
        if (resp.status === 204) return null;
        if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
        return resp.arrayBuffer().then((buf) => decode(buf, this.options.name));
      });
      p.catch(() => this._sources.delete(key));
      this._sources.set(key, p);
      while (this._sources.size > SOURCE_CACHE) this._sources.delete(this._sources.keys().next().value);
      return p;
    },

    createTile(coords, done) {
      const size = this.getTileSize();
      const ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      const src = this._sourceFor(coords);
      canvas._src = src;
      canvas._coords = coords;
      this._fetch(src).then((data) => {
        canvas._data = data;
        this._draw(canvas);
        done(null, canvas);
      }, (err) => done(err, canvas));
      return canvas;
    },

    /** Paint one tile from its decoded source data; the hovered and selected features last, outlined. */
    _draw(canvas) {
      const ctx = canvas.getContext("2d");
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      const data = canvas._data;
      if (!data || !data.features.length) return;
      const src = canvas._src, c = canvas._coords;
      const px = canvas.width;
      const k = (px * src.scale) / data.extent;
      const offX = (c.x - src.x * src.scale) * px;
      const offY = (c.y - src.y * src.scale) * px;
      const lo = [offX / k, offY / k];
      const hi = [(offX + px) / k, (offY + px) / k];
      const ratio = px / this.getTileSize().x;
      const filter = this.options.filter;
      const marked = [];
      const later = [];
      const paint = (f, state) => {
        const st = this.options.style(f.props, state, this._map ? this._map.getZoom() : 0);
        if (!st) return;
        ctx.beginPath();
        for (const r of f.rings) {
          ctx.moveTo(r[0] * k - offX, r[1] * k - offY);
          for (let i = 2; i < r.length; i += 2) ctx.lineTo(r[i] * k - offX, r[i + 1] * k - offY);
          ctx.closePath();
        }
        if (st.fill) { ctx.fillStyle = st.fill; ctx.globalAlpha = st.fillOpacity ?? 1; ctx.fill("evenodd"); }
        if (st.hatch) {
          ctx.fillStyle = hatch(ctx, st.hatch, (st.hatchSpacing || 8) * ratio, 1.5 * ratio);
          ctx.globalAlpha = st.hatchOpacity ?? 1;
          ctx.fill("evenodd");
        }
        if (st.casing && st.casingWidth > 0) {
          ctx.globalAlpha = 1;
          ctx.strokeStyle = st.casing;
          ctx.lineWidth = st.casingWidth * ratio;
          ctx.setLineDash([]);
          ctx.stroke();
        }
        if (st.stroke && st.width > 0) {
          ctx.globalAlpha = st.strokeOpacity ?? 1;
          ctx.strokeStyle = st.stroke;
          ctx.lineWidth = st.width * ratio;
          ctx.setLineDash(st.dash ? st.dash.map((d) => d * ratio) : []);
          ctx.stroke();
        }
        ctx.globalAlpha = 1;
      };
      for (const f of data.features) {
        const b = f.bbox;
        if (b[2] < lo[0] - 8 || b[0] > hi[0] + 8 || b[3] < lo[1] - 8 || b[1] > hi[1] + 8) continue;
        if (filter && !filter(f.props)) continue;
        if (f.key === this.selectedKey || f.key === this.hoverKey) { later.push(f); continue; }
        if (this.markedKeys.has(f.key)) { marked.push(f); continue; }
        paint(f, "");
      }
      for (const f of marked) paint(f, "marked");
      for (const f of later) paint(f, f.key === this.selectedKey ? "selected" : "hover");
    },

    /** Repaint every tile on screen (after a filter or style change), or only those holding given keys. */
    redraw(keys) {
      if (!this._map) return this;
      for (const k in this._tiles) {
        const el = this._tiles[k].el;
        if (!el._data) continue;
        if (keys && !keys.some((key) => key !== null && el._data.ids.has(key))) continue;
        this._draw(el);
      }
      return this;
    },

    /** The feature drawn at a map position (topmost first), or null. */
    featureAt(latlng) {
      if (!this._map || this._tileZoom === undefined) return null;
      const z = this._tileZoom;
      const size = this.getTileSize().x;
      const p = this._map.project(latlng, z);
      const tx = Math.floor(p.x / size), ty = Math.floor(p.y / size);
      const tile = this._tiles[`${tx}:${ty}:${z}`];
      if (!tile || !tile.el._data) return null;
      const { _src: src, _data: data } = tile.el;
      const ex = (p.x / size / src.scale - src.x) * data.extent;
      const ey = (p.y / size / src.scale - src.y) * data.extent;
      const filter = this.options.filter;
      for (let i = data.features.length - 1; i >= 0; i--) {
        const f = data.features[i];
        if (f.type !== 3 || (filter && !filter(f.props))) continue;
        if (contains(f, ex, ey)) return f;
      }
      return null;
    },

    setHover(key) {
      if (key === this.hoverKey) return;
      const old = this.hoverKey;
      this.hoverKey = key;
      this.redraw([old, key]);
    },

    setSelected(key) {
      if (key === this.selectedKey) return;
      const old = this.selectedKey;
      this.selectedKey = key;
      this.redraw([old, key]);
    },

    /** Mark a set of features (codes), replacing the marks there were. */
    setMarked(keys) {
      const old = this.markedKeys;
      this.markedKeys = new Set(keys);
      this.redraw([...old, ...this.markedKeys]);
    },

    /** Properties of the features drawn in the tiles on screen (each feature once). */
    drawn() {
      const seen = new Map();
      if (!this._map) return [];
      const filter = this.options.filter;
      for (const key in this._tiles) {
        const data = this._tiles[key].el._data;
        if (!data || !this._tiles[key].current) continue;
        for (const f of data.features) if (!filter || filter(f.props)) seen.set(f.key, f.props);
      }
      return [...seen.values()];
    },
  });

  L.mvtLayer = (options) => new L.MvtLayer(options);
})();
