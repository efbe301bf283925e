"""WebSocket /ws/incidents: relays incident updates between the consoles connected to this machine."""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

router = APIRouter()


class ConnectionManager:
    """The sockets open in this worker process."""

    def __init__(self) -> None:
        self.active: set[WebSocket] = set()

    async def connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active.add(websocket)

    def disconnect(self, websocket: WebSocket) -> None:
        self.active.discard(websocket)

    async def broadcast(self, message: dict) -> None:
        for websocket in list(self.active):
            await websocket.send_json(message)


manager = ConnectionManager()


@router.websocket("/ws/incidents")
async def incidents(websocket: WebSocket) -> None:
    await manager.connect(websocket)
    try:
        while True:
            await manager.broadcast(await websocket.receive_json())
    except WebSocketDisconnect:
        manager.disconnect(websocket)
