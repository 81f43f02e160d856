# Built from the repository root with `node-gyp rebuild --directory=addon`
# (or `cd addon && node-gyp rebuild`). The default BPF object is embedded from
# build/bpf/hostflow.skel.h, produced first by `make -C bpf`.
{
  "targets": [
    {
      "target_name": "hostflow",
      "sources": [
        "addon.cc",
        "bpf_object.cc",
        "capabilities.cc",
        "embedded_object.cc",
        "errors.cc",
        "interfaces.cc",
        "ring_poller.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "include_dirs": [
        "<(module_root_dir)/../build/bpf"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": [
        "<!@(pkg-config --cflags libbpf)"
      ],
      "cflags_cc!": [
        "-std=gnu++17",
        "-fno-rtti"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Werror"
      ],
      "libraries": [
        "<!@(pkg-config --libs libbpf)",
        "-lelf",
        "-lz"
      ]
    }
  ]
}
