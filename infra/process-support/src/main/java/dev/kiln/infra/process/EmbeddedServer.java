package dev.kiln.infra.process;

/** A server in a child JVM listening on one loopback port: what the embedded Kafka and S3 servers share. */
public abstract class EmbeddedServer implements AutoCloseable {
    private final ServerProcess process;
    private final int port;

    protected EmbeddedServer(ServerProcess process, int port) {
        this.process = process;
        this.port = port;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.close();
    }
}
