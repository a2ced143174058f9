"""Import and export of layers (pyogrio/geopandas), and the sample-data loader."""
