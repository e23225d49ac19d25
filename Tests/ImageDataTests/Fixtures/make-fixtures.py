# Writes this folder's fixtures (run at dev time from here with numpy, Pillow and torch installed;
# prints the references that the tests quote: PIL's JPEG decode, PIL's luma, torch's bilinear/area).
import gzip, struct, zlib
import numpy as np
import torch
from PIL import Image

rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[10, 20, 30], [128, 128, 128], [250, 200, 150]]], np.uint8)
Image.fromarray(rgb, 'RGB').save('rgb-3x2.png')
Image.fromarray(rgb, 'RGB').save('rgb-3x2.bmp')
Image.fromarray(np.array([[0, 50, 100, 150], [200, 250, 1, 2], [3, 4, 5, 255]], np.uint8), 'L').save('gray-4x3.png')
Image.fromarray(np.array([[[10, 20, 30, 0], [40, 50, 60, 255]]], np.uint8), 'RGBA').save('rgba-2x1.png')
y, x = np.mgrid[0:4, 0:4]
gradient = np.stack([40 + x * 40, 60 + y * 30, 200 - x * 20 - y * 10], -1).astype(np.uint8)
Image.fromarray(gradient, 'RGB').save('gradient-4x4.jpg', quality=95, subsampling=0)
print('PIL decode of gradient-4x4.jpg', np.array(Image.open('gradient-4x4.jpg')).reshape(-1).tolist())


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


# Headers claiming 100000×100000 (over stb's STBI_MAX_DIMENSIONS) and 16000×16000 (within it, over our 2^26 pixels).
for name, side in [('huge-header.png', 100000), ('large-header.png', 16000)]:
    header = struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)
    with open(name, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(b'\x00' * 64)) + chunk(b'IEND', b''))

images = np.arange(18, dtype=np.uint8).reshape(3, 2, 3) * 10
with gzip.open('small-images-idx3-ubyte.gz', 'wb') as f:
    f.write(struct.pack('>IIII', 0x803, 3, 2, 3) + images.tobytes())
with gzip.open('small-labels-idx1-ubyte.gz', 'wb') as f:
    f.write(struct.pack('>II', 0x801, 3) + bytes([2, 0, 1]))

print('PIL convert("L") of rgb-3x2', np.array(Image.fromarray(rgb, 'RGB').convert('L')).tolist())
t = torch.tensor([[[[10., 50.], [90., 200.]]]], dtype=torch.float64)
print('bilinear 2x2->4x4', torch.nn.functional.interpolate(t, size=(4, 4), mode='bilinear', align_corners=False).reshape(-1).tolist())
a = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4) * 10 + 3
print('area 4x4->2x2', torch.nn.functional.interpolate(a, size=(2, 2), mode='area').reshape(-1).tolist())
