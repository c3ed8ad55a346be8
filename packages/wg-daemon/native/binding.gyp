# node-gyp build of the batched ChaCha20-Poly1305 addon and its range checksum and X25519 (src/wg_aead.c, src/csum.c, src/x25519.c, the data plane's system calls in src/io.c; build.mjs).
# No libraries: OpenSSL's EVP_* symbols come from the `node` binary that loads the addon.
{
  "targets": [
    {
      "target_name": "wg_aead",
      "sources": ["src/wg_aead.c", "src/csum.c", "src/x25519.c", "src/io.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"],
      "ldflags": ["-Wl,--build-id=none", "-s"]
    }
  ]
}
