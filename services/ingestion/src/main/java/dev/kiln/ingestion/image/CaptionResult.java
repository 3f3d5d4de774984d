package dev.kiln.ingestion.image;

/** The outcome of reading a caption sidecar: {@link Caption} or {@link Rejection}. */
public sealed interface CaptionResult permits CaptionResult.Caption, Rejection {

    /** A usable caption: the text sd-scripts would store for the image. */
    record Caption(String text) implements CaptionResult {
    }
}
