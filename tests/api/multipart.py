"""Multipart bodies built byte for byte, the way the clients we must serve build them."""

import secrets


def form_data_body(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """What Node's `form-data` package (used by rembg.js) sends: its boundary style, files first
    as appended, then the string fields, CRLF line ends, no Content-Length per part."""
    boundary = "-" * 26 + "".join(secrets.choice("0123456789") for _ in range(24))
    chunks: list[bytes] = []
    for name, filename, content, content_type in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        chunks.append(content + b"\r\n")
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def empty_file_input_body(fields: list[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """What a browser sends for a form whose file input was left empty."""
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    body += f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"
