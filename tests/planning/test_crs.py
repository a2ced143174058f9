"""Land areas do not depend on the CRS a parcel file comes in: EPSG:4549, 4528 (zone-prefixed) or 4490."""

from __future__ import annotations

import pytest

from app.db.engine import make_engine
from app.io import importer
from app.io.safety import IOLimits
from app.planning import metrics
from app.planning.config import PlanningRules
from tests import handmade

LIMITS = IOLimits()

# handmade parcels: 100 × 100 − 20 × 20 = 9 600 m² (14.4 亩); 100 × 200 = 20 000 (30 亩);
# 100 × 100 + 100 × 90 = 19 000 (28.5 亩)
AREAS = {"330282107001GB00001": 9_600.0, "330282107001GB00002": 20_000.0, "330282107001GB00003": 19_000.0}
MU = {"330282107001GB00001": 14.4, "330282107001GB00002": 30.0, "330282107001GB00003": 28.5}
# counted floor area: 900 × 3 = 2 700; 1 500 (8.0 m: once; the 9.5 m office is illegal); 2 400.75 surveyed
COUNTED = {"330282107001GB00001": 2_700.0, "330282107001GB00002": 1_500.0, "330282107001GB00003": 2_400.75}


@pytest.mark.parametrize("epsg", [4549, 4528, 4490])
def test_land_areas_and_far_are_invariant_to_the_file_crs(databases, base_settings, tmp_path, epsg):
    engine = make_engine(base_settings, databases.create())
    try:
        layers = handmade.layers()
        for name in ("towns", "blocks"):
            importer.import_file(engine, handmade.write(layers[name], tmp_path / f"{name}.gpkg"), name, limits=LIMITS)
        moved = layers["parcels"].to_crs(epsg)
        if epsg == 4528:  # zone-prefixed easting (EPSG:4528, docs/rules.md §2.3)
            assert moved.geometry.bounds["minx"].min() == pytest.approx(40_620_000.0)
        importer.import_file(engine, handmade.write(moved, tmp_path / "parcels.gpkg"), "parcels", limits=LIMITS)
        importer.import_file(engine, handmade.write(layers["buildings"], tmp_path / "b.gpkg"), "buildings",
                             limits=LIMITS)
        with engine.connect() as conn:
            figs = {f.parcel_code: f for f in metrics.parcel_figures(conn, PlanningRules())}
    finally:
        engine.dispose()
    for code, area in AREAS.items():
        assert figs[code].land_area_m2 == pytest.approx(area, abs=0.01)
        assert figs[code].land_area_mu == pytest.approx(MU[code], abs=1e-5)
        assert figs[code].far_floor_area_m2 == pytest.approx(COUNTED[code], abs=0.01)
        assert figs[code].far == pytest.approx(COUNTED[code] / area, rel=1e-6)
