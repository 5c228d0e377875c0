# Cutout's container image: the app, its dependencies and the verified u2netp model, static files
# hashed and compressed. Provisioning also compiles pymatting's numba kernels (refine=matting) into
# NUMBA_CACHE_DIR (removal.jit), instead of in the first refining request of every new container.
# Runtime state (editor files) goes to MEDIA_ROOT, a volume in compose.yaml. The install takes the
# versions pinned in constraints.txt (`make lock`), as `make` does.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CUTOUT_VAR_DIR=/srv/var U2NET_HOME=/opt/models NUMBA_CACHE_DIR=/opt/numba MEDIA_ROOT=/srv/media \
    OPENVINO_CACHE_DIR=/srv/var/openvino
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -c constraints.txt . \
 && python -m removal.provision --home /opt/models \
 && SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput -v 0
EXPOSE 8000
CMD ["python", "-m", "config.serve", "--host", "0.0.0.0", "--port", "8000"]
