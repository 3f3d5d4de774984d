package dev.kiln.captioning.tagging;

import dev.kiln.captioning.CaptioningConfig;
import dev.kiln.captioning.tagger.WdTagger;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Downloads an image for tagging, with the service's limits checked before any pixel is decoded (object size, then
 * the header's width x height), and hashes it. The decoded image is shrunk to the tagger's input at once, so a
 * batch holds only model-sized images.
 */
@ApplicationScoped
public class ImageLoader {

    /** An image ready for the tagger, and the SHA-256 of the bytes it came from. */
    public record Loaded(String sha256, BufferedImage prepared) {
    }

    /** The image cannot be tagged; the message says why (it keeps its class tokens). */
    public static final class UnreadableImageException extends Exception {
        UnreadableImageException(String message) {
            super(message);
        }
    }

    private final S3Storage storage;
    private final CaptioningConfig config;

    @Inject
    public ImageLoader(S3Storage storage, CaptioningConfig config) {
        this.storage = storage;
        this.config = config;
    }

    /** Downloads, checks, decodes and prepares {@code key} for {@code tagger}. */
    public Loaded load(String key, WdTagger tagger) throws UnreadableImageException {
        byte[] bytes;
        try (InputStream in = storage.get(key)) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxImageBytes() + 1));
        } catch (StorageException | IOException e) {
            throw new UnreadableImageException("cannot download " + key + ": " + e.getMessage());
        }
        if (bytes.length > config.maxImageBytes()) {
            throw new UnreadableImageException(key + " is over kiln.captioning.max-image-bytes ("
                    + config.maxImageBytes() + ")");
        }
        return new Loaded(sha256(bytes), tagger.prepare(decode(key, bytes)));
    }

    private BufferedImage decode(String key, byte[] bytes) throws UnreadableImageException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new UnreadableImageException(key + " is not an image format this service decodes");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > config.maxImagePixels()) {
                    throw new UnreadableImageException(key + " has " + pixels
                            + " pixels, over kiln.captioning.max-image-pixels (" + config.maxImagePixels() + ")");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new UnreadableImageException(key + " cannot be decoded: " + e.getMessage());
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
