{
  "targets": [
    {
      "target_name": "strata_h5",
      "sources": ["h5.c"],
      "include_dirs": ["<!@(sh -c 'pkg-config --cflags-only-I hdf5 2>/dev/null | sed s/-I//g || echo /usr/include/hdf5/serial')"],
      "libraries": ["<!@(sh -c 'pkg-config --libs hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5')"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter"]
    }
  ]
}
