FROM @REGISTRY@/busybox
COPY . /custom-ignore/
