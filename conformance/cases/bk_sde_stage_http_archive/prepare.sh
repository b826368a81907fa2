"$(dirname "$0")"/../../lib/put-blob.sh "$(dirname "$0")"/../../lib/blobs/sde-src-1700000402.tar
