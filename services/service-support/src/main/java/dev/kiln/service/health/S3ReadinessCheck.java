package dev.kiln.service.health;

import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Ready when the S3 store answers and the configured bucket exists. Reports the endpoint, never credentials. */
@Readiness
@ApplicationScoped
public class S3ReadinessCheck implements HealthCheck {
    static final String NAME = "S3";

    private final S3Storage storage;

    @Inject
    public S3ReadinessCheck(S3Storage storage) {
        this.storage = storage;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named(NAME)
                .withData("endpoint", storage.endpoint())
                .withData("bucket", storage.bucket());
        try {
            if (storage.probeBucket()) {
                return response.up().build();
            }
            return response.down().withData("error", "bucket '" + storage.bucket() + "' does not exist").build();
        } catch (StorageException e) {
            return response.down().withData("error", e.getMessage()).build();
        }
    }
}
