FROM python:3.12-slim
RUN pip install flask
CMD ["gunicorn", 8000]
EXPOSE 8080
