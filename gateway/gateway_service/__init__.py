"""Gateway: the only public entry of the backend."""
