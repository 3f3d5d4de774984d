package dev.kiln.ingestion.health;

import dev.kiln.ingestion.IngestionConfig;
import dev.kiln.ingestion.pipeline.BatchLoop;
import dev.kiln.ingestion.storage.StorageEventConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the pipeline's consumer has its partitions: from then on an upload is handled without delay. */
@Readiness
@ApplicationScoped
public class IngestionReadinessCheck implements HealthCheck {
    static final String NAME = "Ingestion pipeline";

    private final IngestionConfig config;
    private final StorageEventConsumer consumer;

    @Inject
    public IngestionReadinessCheck(IngestionConfig config, StorageEventConsumer consumer) {
        this.config = config;
        this.consumer = consumer;
    }

    @Override
    public HealthCheckResponse call() {
        if (!config.enabled()) {
            return HealthCheckResponse.named(NAME).up().withData("pipeline", "disabled").build();
        }
        BatchLoop loop = consumer.pipeline();
        boolean consuming = consumer.isRunning() && loop != null && loop.isConsuming();
        return HealthCheckResponse.named(NAME).status(consuming)
                .withData("pipeline", consuming ? "consuming" : "starting or stopped").build();
    }
}
