package dev.kiln.model.topics;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * The {@code ce_source} convention: {@code /kiln/<service>}, a relative URI reference naming the producing
 * service (CloudEvents 1.0 allows relative references).
 */
public final class CloudEventSources {

    // Declared before the constants below, which use it during class initialization.
    private static final Pattern SERVICE = Pattern.compile("[a-z][a-z0-9-]*");

    public static final URI INGESTION = of("ingestion");
    /** The ingestion bucket scanner, which publishes MinIO-format storage events where MinIO cannot. */
    public static final URI SCANNER = of("scanner");
    public static final URI CAPTIONING = of("captioning");
    public static final URI LATENT_CACHE = of("latent-cache");
    public static final URI TRAINER = of("trainer");
    public static final URI SAMPLER = of("sampler");
    public static final URI CLI = of("cli");

    private CloudEventSources() {
    }

    /** {@code /kiln/<service>}; service names are lower-case words joined by {@code -}. */
    public static URI of(String service) {
        if (service == null || !SERVICE.matcher(service).matches()) {
            throw new IllegalArgumentException("service name for ce_source must match " + SERVICE + ": " + service);
        }
        return URI.create("/kiln/" + service);
    }
}
