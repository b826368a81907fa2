ln tree/sub/f tree/hard-of-f
