# 8 MiB of deterministic pseudo-random bytes and 500 small files
for i in $(seq 0 255); do printf '%08d' $i | sha256sum; done | cut -c1-64 | tr -d '\n' > seed
: > big.bin; for n in $(seq 512); do cat seed >> big.bin; done; rm seed
mkdir -p many; for n in $(seq 500); do echo "file $n" > many/f$n; done
