"""freshrec's test images, built on this machine without a registry: a Debian root filesystem from Debian's own
packages (debootstrap, then `docker import`), and Kafka and Redis images on it (`build.py`, `freshrec images build`)."""
