package dev.kiln.ingestion.scanner;

import dev.kiln.service.storage.S3Storage;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs the {@link BucketScanner} every {@code kiln.scanner.interval} when {@code kiln.scanner.enabled}. */
@ApplicationScoped
public class BucketScannerService {
    private static final Logger LOG = Logger.getLogger(BucketScannerService.class);

    private final ScannerConfig config;
    private final BucketScanner scanner;
    private ScheduledExecutorService executor;

    @Inject
    public BucketScannerService(ScannerConfig config, S3Storage storage, StorageEventPublisher publisher) {
        this.config = config;
        this.scanner = new BucketScanner(storage, publisher, config.prefixes(), config.stateKey(), Clock.systemUTC());
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            LOG.debug("bucket scanner disabled (kiln.scanner.enabled=false)");
            return;
        }
        LOG.infof("bucket scanner watching %s every %s", config.prefixes(), config.interval());
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kiln-bucket-scanner");
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::scanQuietly, 0, config.interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    /** A failed scan is logged and retried at the next interval (a thrown exception would end the schedule). */
    private void scanQuietly() {
        try {
            scanner.scanOnce();
        } catch (RuntimeException e) {
            LOG.warnf("bucket scan failed, retrying in %s: %s", config.interval(), e.getMessage());
        }
    }
}
