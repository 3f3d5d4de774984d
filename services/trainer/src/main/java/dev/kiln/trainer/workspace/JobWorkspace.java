package dev.kiln.trainer.workspace;

import dev.kiln.diffusion.train.TrainingState;
import dev.kiln.diffusion.train.latent.LocalLatents;
import dev.kiln.model.dataset.DatasetBlueprint;
import dev.kiln.model.dataset.ImageFiles;
import dev.kiln.model.dataset.SubsetParams;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A job's objects mirrored into a local folder laid out as {@code kiln train --root} expects: object key = path below
 * the root ({@code jobs/<job>/job.toml}, the subsets' images and captions, the base model file or diffusers folder,
 * a prompts file), plus the latents already cached for its images under {@code cache/latents/<vae-sha>/}. Keys are
 * checked with {@link ObjectKeys#requireSafe} before they become paths.
 */
public final class JobWorkspace {

    private final S3Storage storage;
    private final Path root;
    private final Path modelCache;
    private final List<Path> images = new ArrayList<>();

    /**
     * @param root       the job's work folder
     * @param modelCache where base models stay between jobs (one folder per model version), or null to download the
     *                   model into every job's folder
     */
    public JobWorkspace(S3Storage storage, Path root, Path modelCache) {
        this.storage = storage;
        this.root = root;
        this.modelCache = modelCache;
    }

    public Path root() {
        return root;
    }

    /** The mirrored job.toml. */
    public Path jobFile(String job) {
        return local(ObjectKeys.jobSpec(job));
    }

    /** Downloads and parses {@code jobs/<job>/job.toml}, then everything it trains on. */
    public JobSpec mirror(String job) {
        String specKey = ObjectKeys.jobSpec(job);
        Path jobFile = local(specKey);
        storage.getToFile(specKey, jobFile);
        JobSpec spec = JobSpecParser.parse(read(jobFile), specKey, job);
        for (String prefix : folders(spec)) {
            for (ObjectInfo object : storage.list(prefix, true)) {
                download(object.key());
                if (ImageFiles.isImage(ImageFiles.fileName(object.key()))) {
                    images.add(local(object.key()));
                }
            }
        }
        String model = spec.pretrainedModel();
        if (model != null) {
            List<ObjectInfo> files = storage.exists(model) ? List.of(storage.stat(model)) : storage.list(folder(model), true);
            if (files.isEmpty()) {
                throw new IllegalArgumentException("pretrained_model_name_or_path: no object " + model
                        + " and no diffusers folder " + folder(model) + " in the bucket");
            }
            mirrorModel(files);
        }
        if (spec.samplePromptsKey() != null) {
            download(spec.samplePromptsKey());
        }
        return spec;
    }

    /**
     * Downloads the cached latents of every mirrored image for the VAE {@code vaeSha}; returns the file names that
     * were there, so {@link #uploadNewLatents} sends back only what this run computed.
     */
    public Set<String> mirrorLatents(String vaeSha) {
        Set<String> present = new HashSet<>();
        for (Path image : images) {
            String prefix = ObjectKeys.LATENT_CACHE + vaeSha + "/" + LocalLatents.fileSha256(image) + "_";
            for (ObjectInfo cached : storage.list(prefix, false)) {
                download(cached.key());
                present.add(cached.key().substring(cached.key().lastIndexOf('/') + 1));
            }
        }
        return present;
    }

    /** Uploads the latents computed locally and not yet in the bucket (another job may have sent them meanwhile). */
    public int uploadNewLatents(String vaeSha, Set<String> present) {
        Path folder = local(ObjectKeys.LATENT_CACHE + vaeSha + "/x").getParent();
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        int uploaded = 0;
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.toList()) {
                String name = file.getFileName().toString();
                String key = ObjectKeys.LATENT_CACHE + vaeSha + "/" + name;
                if (name.endsWith(".safetensors") && !present.contains(name) && !storage.exists(key)) {
                    storage.putFile(key, file, "application/octet-stream");
                    uploaded++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder, e);
        }
        return uploaded;
    }

    /**
     * Mirrors a base model's objects: downloaded once per version (keys, ETags and sizes) into the model cache and
     * hard-linked into the job's folder, so the next job on the same model downloads nothing.
     */
    private void mirrorModel(List<ObjectInfo> files) {
        if (modelCache == null) {
            files.forEach(f -> download(f.key()));
            return;
        }
        Path cached = modelCache.resolve(ModelCache.version(files));
        try {
            if (!Files.isRegularFile(cached.resolve(ModelCache.COMPLETE))) {
                TrainingState.deleteTree(cached);
                for (ObjectInfo f : files) {
                    storage.getToFile(f.key(), cached.resolve(ObjectKeys.requireSafe(f.key())));
                }
                Files.writeString(cached.resolve(ModelCache.COMPLETE), "");
            }
            Files.setLastModifiedTime(cached, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
            for (ObjectInfo f : files) {
                Path target = local(f.key());
                Files.createDirectories(target.getParent());
                Files.deleteIfExists(target);
                Files.createLink(target, cached.resolve(ObjectKeys.requireSafe(f.key())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot mirror the base model into " + cached + ": " + e.getMessage(), e);
        }
        ModelCache.evict(modelCache, cached);
    }

    /** The local file of an object key. */
    public Path local(String key) {
        return root.resolve(ObjectKeys.requireSafe(key));
    }

    private void download(String key) {
        storage.getToFile(key, local(key));
    }

    /** The object prefixes holding the job's images, captions and metadata files. */
    private static Set<String> folders(JobSpec spec) {
        Set<String> out = new LinkedHashSet<>();
        if (spec.dataset().isLegacy()) {
            for (String argument : List.of("train_data_dir", "reg_data_dir")) {
                String dir = spec.stringArgument(argument);
                if (dir != null) {
                    out.add(folder(dir));
                }
            }
            String inJson = spec.stringArgument("in_json");
            if (inJson != null) {
                out.add(inJson);
            }
            return out;
        }
        for (DatasetBlueprint dataset : spec.dataset().explicitDatasets()) {
            for (SubsetParams subset : dataset.subsets()) {
                if (subset.imageDir() != null) {
                    out.add(folder(subset.imageDir()));
                }
                if (subset.metadataFile() != null) {
                    out.add(subset.metadataFile());
                }
            }
        }
        return out;
    }

    private static String folder(String key) {
        return key.endsWith("/") ? key : key + "/";
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
