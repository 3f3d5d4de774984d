package dev.kiln.model.dataset;

/**
 * An image file as the caller found it: its path (relative to the caller's root or an object key), its size
 * from the image header, and the raw text of its sidecar caption file when one exists (see
 * {@link Captions#sidecarCandidates}).
 *
 * @param width 0 or less when the header could not be read (the image is then left out of the plan)
 * @param sidecarText the caption file's text, or null when there is none
 */
public record ListedImage(String path, int width, int height, String sidecarText) {}
