package dev.kiln.diffusion.dataset;

import dev.kiln.model.dataset.Captions;
import dev.kiln.model.dataset.DatasetConfig;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.DatasetPlanner;
import dev.kiln.model.dataset.TrainingLength;
import dev.kiln.model.dataset.DatasetSource;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.dataset.ListedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * A {@link DatasetSource} over local files below a root folder: paths in the config are relative to the root
 * (absolute ones are used as they are), image sizes come from the image headers (no pixels decoded), captions
 * from sidecar files read as strict UTF-8.
 */
public final class LocalDatasetSource implements DatasetSource {
    private final Path root;
    private final List<String> warnings = new ArrayList<>();

    public LocalDatasetSource(Path root) {
        this.root = root;
    }

    /** Problems met while reading files (unreadable captions), for the plan's report. */
    public List<String> warnings() {
        return warnings;
    }

    /** The dataset engine's plan of {@code config} over this folder, with the file problems met added as warnings. */
    public DatasetPlan plan(DatasetConfig config, TrainingLength length) {
        DatasetPlan plan = DatasetPlanner.plan(config, this, length);
        if (warnings.isEmpty()) {
            return plan;
        }
        List<String> all = new ArrayList<>(plan.warnings());
        all.addAll(warnings);
        return new DatasetPlan(plan.datasets(), plan.stepsPerEpoch(), plan.totalSteps(), plan.epochs(), List.copyOf(all));
    }

    private Path resolve(String path) {
        return root.resolve(path);
    }

    @Override
    public List<String> subdirectories(String dir) {
        Path base = resolve(dir);
        if (!Files.isDirectory(base)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(base)) {
            return children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + base + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<ListedImage> images(String imageDir, String captionExtension) {
        Path dir = resolve(imageDir);
        if (!Files.isDirectory(dir)) {
            warnings.add("not a directory: " + dir);
            return List.of();
        }
        List<ListedImage> out = new ArrayList<>();
        try (Stream<Path> children = Files.list(dir)) {
            for (Path file : (Iterable<Path>) children::iterator) {
                String name = file.getFileName().toString();
                if (!Files.isRegularFile(file) || !ImageFiles.isImage(name)) {
                    continue;
                }
                String path = imageDir.endsWith("/") ? imageDir + name : imageDir + "/" + name;
                int[] size = headerSize(file);
                out.add(new ListedImage(path, size == null ? 0 : size[0], size == null ? 0 : size[1],
                        sidecar(path, captionExtension)));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    private String sidecar(String imagePath, String captionExtension) {
        for (String candidate : Captions.sidecarCandidates(imagePath, captionExtension)) {
            Path file = resolve(candidate);
            if (Files.isRegularFile(file)) {
                try {
                    return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
                } catch (CharacterCodingException e) {
                    warnings.add("caption file is not UTF-8, ignored: " + candidate);
                    return null;
                } catch (IOException e) {
                    warnings.add("cannot read caption file " + candidate + ": " + e.getMessage());
                    return null;
                }
            }
        }
        return null;
    }

    @Override
    public String text(String path) {
        Path file = resolve(path);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] imageSize(String path) {
        Path file = resolve(path);
        return Files.isRegularFile(file) ? headerSize(file) : null;
    }

    /** Width and height from the image header via ImageIO, or null when no reader understands the file. */
    static int[] headerSize(Path file) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                return null;
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new int[] {reader.getWidth(0), reader.getHeight(0)};
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
