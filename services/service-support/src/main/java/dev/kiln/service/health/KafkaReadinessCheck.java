package dev.kiln.service.health;

import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Ready when the Kafka cluster answers a {@code describeCluster} within a few seconds.
 *
 * <p>Uses the application's {@code kafka.*} configuration, so TLS/SASL settings apply; reports the
 * bootstrap servers, never credentials.
 */
@Readiness
@ApplicationScoped
public class KafkaReadinessCheck implements HealthCheck {
    static final String NAME = "Kafka";
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    /** Producer/consumer-only keys the Admin client would warn about. */
    private static final Set<String> ADMIN_CONFIG_NAMES = AdminClientConfig.configNames();

    private final Map<String, Object> adminConfig;
    private final String bootstrapServers;
    private Admin admin;

    @Inject
    public KafkaReadinessCheck(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig) {
        Map<String, Object> config = new HashMap<>();
        kafkaConfig.forEach((name, value) -> {
            if (ADMIN_CONFIG_NAMES.contains(name)) {
                config.put(name, value);
            }
        });
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        config.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "kiln-readiness");
        this.adminConfig = config;
        Object servers = config.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        this.bootstrapServers = servers == null ? "" : servers.toString();
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named(NAME).withData("bootstrap", bootstrapServers);
        if (bootstrapServers.isBlank()) {
            return response.down().withData("error", "kafka.bootstrap.servers (env KILN_KAFKA_BOOTSTRAP) is not set").build();
        }
        try {
            int nodes = admin().describeCluster(new DescribeClusterOptions().timeoutMs((int) TIMEOUT.toMillis()))
                    .nodes().get(TIMEOUT.toMillis() + 500, TimeUnit.MILLISECONDS).size();
            return response.up().withData("nodes", nodes).build();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return response.down().withData("error", "interrupted").build();
        } catch (ExecutionException e) {
            return response.down().withData("error", describe(e.getCause())).build();
        } catch (Exception e) {
            return response.down().withData("error", describe(e)).build();
        }
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** One Admin client for the life of the check: creating one per probe would cost a connection each time. */
    private synchronized Admin admin() {
        if (admin == null) {
            admin = Admin.create(adminConfig);
        }
        return admin;
    }

    @PreDestroy
    synchronized void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(1));
            admin = null;
        }
    }
}
