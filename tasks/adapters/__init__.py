"""One adapter module per external library: Great Expectations, Evidently, GTO, Dask, dataset loaders."""
