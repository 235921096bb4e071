{
  "targets": [
    {
      "target_name": "seedship_native",
      "sources": ["seedship_native.cc", "md5_many.cc", "xxh64.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra"]
    }
  ]
}
