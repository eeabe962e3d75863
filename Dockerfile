# licensebot in a container (Discord + Microsoft Graph). Build: docker build -t licensebot .
# Run:
#   docker run -d --name licensebot \
#     -v licensebot-data:/var/lib/licensebot \
#     -v /etc/licensebot/licensebot.toml:/etc/licensebot/licensebot.toml:ro \
#     -e DISCORD_TOKEN -e LICENSEBOT_GRAPH_CLIENT_SECRET \
#     -p 127.0.0.1:9464:9464 licensebot
# with store.url = "sqlite:///var/lib/licensebot/licensebot.db" and, for the endpoint,
# telemetry.metrics_addr = "0.0.0.0:9464" in the mounted settings file.

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY locales ./locales
COPY benches ./benches
RUN cargo build --release --locked --bin licensebot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/licensebot --shell /usr/sbin/nologin licensebot \
 && install -d -m 0700 -o licensebot -g licensebot /var/lib/licensebot
COPY --from=build /src/target/release/licensebot /usr/local/bin/licensebot
USER licensebot
VOLUME /var/lib/licensebot
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/licensebot", "--config", "/etc/licensebot/licensebot.toml"]
CMD ["run"]
