import type { ICloudCatalog } from '../api';
import {
  acceleratorChoices,
  imageField,
  regionChoices
} from '../submit/picker';
import { N1_STANDARD_8, A2_HIGHGPU_2G } from './fixtures/machines';

const T4 = {
  type: 'NVIDIA_TESLA_T4',
  short_name: 'T4',
  regions: ['us-central1', 'europe-west4'],
  hourly_usd: 0.4,
  price_note: null
};
const A100 = {
  type: 'NVIDIA_TESLA_A100',
  short_name: 'A100',
  regions: ['us-central1'],
  hourly_usd: 2.9,
  price_note: null
};

/** A Vertex catalog as the server answers it: more regions than its GPU data covers. */
const catalog = {
  backend: 'vertex',
  region: null,
  default_region: 'us-central1',
  regions: ['europe-west2', 'europe-west3', 'europe-west4', 'us-central1'],
  gpu_regions: ['europe-west2', 'europe-west4', 'us-central1'],
  as_of: '2026-11-27',
  prices_as_of: '2026-11-27',
  prices_are_estimates: true,
  machine_types: [N1_STANDARD_8, A2_HIGHGPU_2G],
  accelerators: [T4, A100],
  not_offered: [],
  default_containers: {
    cpu: {
      uri: null,
      reason:
        "every prebuilt sklearn CPU container in the catalog has ended its availability: name the image to run in (the job's environment, or the server's VertexBackend.default_image)"
    },
    gpu: {
      uri: 'europe-docker.pkg.dev/my-project/images/train:7',
      reason: 'VertexBackend.default_image'
    }
  }
} as ICloudCatalog;

function marks(machine: string, accelerator: string, current = '') {
  return Object.fromEntries(
    regionChoices(catalog, machine, accelerator, current).map(c => [
      c.label,
      c.disabled
    ])
  );
}

describe('the region picker', () => {
  it('marks regions where the chosen GPU is not offered, and refuses them', () => {
    expect(marks('n1-standard-8', 'NVIDIA_TESLA_T4')).toEqual({
      'us-central1 (default)': false,
      'europe-west2 · no T4': true,
      'europe-west3 · T4: not known': false,
      'europe-west4': false
    });
  });

  it('marks regions where the chosen machine type is not offered', () => {
    const choices = regionChoices(catalog, 'a2-highgpu-2g', '', '');
    const europe = choices.find(c => c.value === 'europe-west4')!;
    expect(europe.label).toBe('europe-west4 · no a2-highgpu-2g');
    expect(europe.reason).toBe(
      'A100 is not offered in europe-west4; offered in us-central1'
    );
  });

  it('says whether a GPU is offered is not known where the GPU data stops', () => {
    const west3 = regionChoices(
      catalog,
      'n1-standard-8',
      'NVIDIA_TESLA_T4',
      ''
    ).find(c => c.value === 'europe-west3')!;
    expect(west3.disabled).toBe(false);
    expect(west3.reason).toMatch(
      /Whether T4 is offered in europe-west3 is not known/
    );
  });

  it('keeps the chosen region selectable even where the GPU is not offered', () => {
    expect(marks('n1-standard-8', 'NVIDIA_TESLA_T4', 'europe-west2')).toEqual(
      expect.objectContaining({ 'europe-west2 · no T4': false })
    );
  });

  it('keeps a region the catalog does not list, marked as such', () => {
    const last = regionChoices(catalog, 'n1-standard-8', '', 'me-west1').pop()!;
    expect(last).toEqual(
      expect.objectContaining({
        value: 'me-west1',
        label: 'me-west1 · not in the catalog',
        disabled: false
      })
    );
  });

  it('leaves the GPUs enabled in a region the GPU data does not cover', () => {
    const t4 = acceleratorChoices(
      catalog,
      'n1-standard-8',
      'europe-west3'
    ).find(c => c.value === 'NVIDIA_TESLA_T4')!;
    expect(t4.disabled).toBe(false);
  });
});

describe('the image field', () => {
  it('shows the image a GPU job naming none gets, and why', () => {
    expect(imageField(catalog, 'NVIDIA_TESLA_T4', 1)).toEqual({
      placeholder: 'europe-docker.pkg.dev/my-project/images/train:7',
      hint: 'Empty: europe-docker.pkg.dev/my-project/images/train:7, chosen for GPU jobs (VertexBackend.default_image).'
    });
  });

  it('says when no image can be chosen, and how to name one', () => {
    const field = imageField(catalog, '', 0)!;
    expect(field.placeholder).toMatch(/none can be chosen/);
    expect(field.hint).toMatch(
      /^Empty: no image can be chosen for CPU jobs; name one/
    );
    expect(field.hint).toMatch(/VertexBackend\.default_image/);
  });

  it('is not shown for a backend whose catalog names no images', () => {
    const { default_containers, ...dataflow } = catalog;
    expect(default_containers).toBeDefined();
    expect(imageField(dataflow as ICloudCatalog, '', 0)).toBeNull();
    expect(imageField(null, '', 0)).toBeNull();
  });
});
