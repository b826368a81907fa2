"$(dirname "$0")"/../../lib/put-blob.sh "$(dirname "$0")"/../../lib/blobs/content1
