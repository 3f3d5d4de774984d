package dev.kiln.captioning;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/** The captioning service's settings ({@code kiln.captioning.*}). */
@ConfigMapping(prefix = "kiln.captioning")
public interface CaptioningConfig {

    /** Images per tagger inference when a job's {@code [captioning]} leaves {@code batch_size} unset. */
    @WithDefault("8")
    int batchSize();

    /** The extension of sidecars written for images tagged by the service default (jobs use their subset's). */
    @WithDefault(".txt")
    String captionExtension();

    /** The tagger every dataset gets when no job asks for one (off unless {@code model} is set). */
    DefaultTagger tagger();

    /** Where downloaded tagger models are kept while they load (a service-owned folder). */
    @WithDefault("${java.io.tmpdir}/kiln-captioning")
    Path workDir();

    /** Images larger than this are not downloaded for tagging (they keep their class tokens). */
    @WithDefault("67108864")
    long maxImageBytes();

    /** Images with more pixels than this (read from the header) are not decoded for tagging. */
    @WithDefault("100000000")
    long maxImagePixels();

    /** Tagger models larger than this are refused (WD14 models are 300-500 MB). */
    @WithDefault("2147483648")
    long maxModelBytes();

    /** The service-level tagger, for datasets tagged as images arrive. */
    interface DefaultTagger {
        /** Object key of the {@code .onnx} model ({@code KILN_CAPTIONING_TAGGER_MODEL}); unset: no default tagging. */
        Optional<String> model();

        /**
         * The other {@code [captioning]} keys of job.toml, written as the inside of a TOML inline table
         * ({@code KILN_CAPTIONING_TAGGER_OPTIONS='general_threshold = 0.5, remove_underscore = true'}).
         */
        Optional<String> options();
    }
}
