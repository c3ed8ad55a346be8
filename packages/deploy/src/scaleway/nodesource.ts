/**
 * The Node.js runtime installed on the Scaleway instances: NodeSource's Debian repository, one pinned
 * package version, verified by apt with NodeSource's signing key shipped inline (no key download).
 *
 * Pinned to the exact build the wg-ts tests run on here (`dpkg -l nodejs`: 20.20.2-1nodesource1,
 * repacked locally as 20.20.2-1nodesource1+repack1). The key is the binary keyring NodeSource
 * publishes (`/usr/share/keyrings/nodesource.gpg`): rsa2048, "NSolid <nsolid-gpg@nodesource.com>",
 * fingerprint 6F71 F525 2828 41EE DAF8 51B4 2F59 B5F9 9B1B E0B4, sha256 of the file below
 * 7a96b125f721c99e07d3f45b279adbd6884ec4f3f06750f6b54df40cfae36836.
 */

/** apt package name and the exact version installed (cloud-init `packages: [[nodejs, VERSION]]`). */
export const NODEJS_PACKAGE = { name: "nodejs", version: "20.20.2-1nodesource1" } as const;

/** Where the keyring is written on the instance. */
export const NODESOURCE_KEYRING_PATH = "/etc/apt/keyrings/nodesource.gpg";

/** deb822 source for NodeSource's Node 20 repository, restricted to the shipped key. */
export const NODESOURCE_SOURCES = [
  "Types: deb",
  "URIs: https://deb.nodesource.com/node_20.x",
  "Suites: nodistro",
  "Components: main",
  "Architectures: amd64",
  `Signed-By: ${NODESOURCE_KEYRING_PATH}`,
  "",
].join("\n");

/** apt preferences: never take nodejs from Debian, and hold the pinned version. */
export const NODESOURCE_PIN = [
  "Package: nodejs",
  "Pin: version " + NODEJS_PACKAGE.version,
  "Pin-Priority: 1001",
  "",
].join("\n");

/** SHA-256 of the keyring bytes, checked by the tests against {@link NODESOURCE_KEYRING_BASE64}. */
export const NODESOURCE_KEYRING_SHA256 = "7a96b125f721c99e07d3f45b279adbd6884ec4f3f06750f6b54df40cfae36836";

/** The binary OpenPGP keyring, base64 (cloud-init `write_files` `encoding: b64`). */
export const NODESOURCE_KEYRING_BASE64 =
  "mQENBFdDN1ABCADaNd/I3j3tn40deQNgz7hB2NvT+syXe6k4ZmdiEcOfBvFrkS8BhNS67t93etHsxEy7E0qwsZH32bKazMqe9zDwoa3aVImryjh6SHC9lMtW27JPHFeMSrkt9YmH1WMwWcRO6eSY9B3PpazquhnvbammLuUojXRIxkDroy6Fw4UKmUNSRr329Ej87jRoR1B2/57Kfp2Y4+vFGGzSvh3AFQpBHq51qsNHALU6+8PjLfIt+5TPvaWRTB+kAZnQZkaIQM2nr1n3oj6ak2RATY/+kjLizgFWzgEfbCrbsyq68UoY5FPBnu4ZE3iDZpaIqwKr0seUC7iA1xM5eHi5kty1oB7HABEBAAG0Ik5Tb2xpZCA8bnNvbGlkLWdwZ0Bub2Rlc291cmNlLmNvbT6JAU4EEwEKADgCGwMCHgECF4AWIQRvcfUlKChB7tr4UbQvWbX5mxvgtAUCaWfGnwULCQgHAgYVCgkICwIEFgIDAQAKCRAvWbX5mxvgtL0CB/0TTur63uXTPbq+JBQET6jnEVaDrNmpHI/z2RMuj163gmy9CtCwG060c+TIqzmzlPacbTkGc5C50teX2mhs+5JIthfhMibR6Dgy0zeSVuvt9WJ3TNWBpoW5Ezka17SA3Xv9UEJS2eyRd7ALf7TGGAj8DG+xRABXl6bJIXh1s7Hki7kwgVrpNxm/EqyXOrzExm0g2UjgdkbnZrnTyZMB6X8f8fZPo0QcByPvLee2DtkKeE+SZlFXyvnCzcw094K45vlWkEdRzmiiWAG7guzZyZYGcCO5EoJ3LUP90qhrmQUfsbtczeoEW17EW1jMRohLo8BqVyYc1CAFlULIDNeS3aipuQENBFdDN1ABCACq02gutmss6jiD2u50vdARx3JOGd92trWRf7qH9/MTToslhoU/LiXhaE0x5+UkKuRbcruCtytn226brvwD0BdOQGpY81ZAxjTFuKUpIDmrHcrI/N9XLrLKx19kWEttsIPNJOgvx8JoeReOX2hLjcbFfmz8e6D1K7eZ+hjMfOLxD94tfhQwYtKbfwf0JwxQV5ItQRryd+X+TcA3nyvFWiJ8Vz92Tf1iG7Z+XasaaZFf2JDuxoiZaSZY7va395ClCEMykFsRbGwgDyB6Fr+6x/UUsYA4rYV7RumIOUdWngWyWjzVy/cKSWASW4jI5ABWs+AfeRTqmZt6+6B7oIghrB19ABEBAAGJAR8EGAECAAkFAldDN1ACGwwACgkQL1m1+Zsb4LRPzgf9FTfPA0d2N37qsu5av3bYZJ+w6pvWF3aK2Zdy9ednhCBfPNmhvBRN6mXWixo0DuKEoQMjVpkX0hrqB9FxEVwCPZ9K/JuJgzMROq7T+7R3rcv+TPMdwk8rjIMeRiw2hFLwbrJ0w/v7/3wTMESv3GfXbuT0huEedK7bLfqGMgtmqMeCNkoI7Rf3GO2xArGQ6Zc2rTd4L9+D5HHSIPEixwFZS+Debc7pg3os0bKXEsqMtitvocClOAuPnXpCy04PK450UTr6ZVdirWhJOq8SrSERQwqEJ4PMHybiDKwzSr6mcBURre3G71uTAp7h/DISLTpfVMadcB6eoLWr/4fBqejAWg==";
