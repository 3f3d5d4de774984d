package dev.kiln.ingestion.scanner;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;

/**
 * The bucket scanner ({@code kiln.scanner.*}): stands in for bucket notifications on stores that have none
 * (s3proxy, plain S3). Off by default; {@code ./kiln up} turns it on with {@code KILN_SCANNER_ENABLED=true}.
 */
@ConfigMapping(prefix = "kiln.scanner")
public interface ScannerConfig {

    @WithDefault("false")
    boolean enabled();

    /** Pause between the end of one scan and the start of the next. */
    @WithDefault("2s")
    Duration interval();

    /** Key prefixes watched. */
    @WithDefault("datasets/,jobs/")
    List<String> prefixes();

    /** Where the last published state is kept, so a restart neither republishes everything nor loses events. */
    @WithDefault("state/scanner/snapshot.json")
    String stateKey();
}
